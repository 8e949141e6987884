import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { RetrainCandidate } from '../domain/search-attributes.js';
import { deployCandidate, judgeOnHoldout } from './deployment.js';
import { control, RunSession, type RunResult } from './run-session.js';

export interface DeployInput {
  model: string;
  /** The revision of the model's spec in the starter's config; the worker resolves it in its own (as for pipelines). */
  configRevision?: string;
  /** A registered version of the model (`retrain models register`, or an earlier run's). */
  version: number;
  reason: string;
  requestedBy: string;
}

/**
 * `retrain deploy <model> <version>`: a version trained anywhere goes through what a retrained one
 * does after training: the champion and it on the latest holdout, the gates, a person when the
 * policy asks, pre-traffic checks, the canary, promotion or rollback. It runs under the model's one
 * run id (`retrain-<model>`), so a deployment and a retraining never move one model's traffic at
 * once, and `retrain status`, `approve`, `pause`, `abort` and `promote` steer it as they steer a pipeline.
 */
export async function deployVersion(input: DeployInput): Promise<RunResult> {
  const trigger = { kinds: ['deploy'], reasons: [input.reason], requestedBy: input.requestedBy };
  const session = await RunSession.open(input.model, input.configRevision, trigger, 'building_dataset', () => control.resolveSpec({ model: input.model, revision: input.configRevision }));
  const { status, ref } = session;
  status.candidateVersion = input.version;
  session.begin();
  upsertSearchAttributes([{ key: RetrainCandidate, value: `v${input.version}` }]);

  return session.guard(async () => {
    const refused = await control.checkDeployable({ ref, version: input.version });
    if (refused) return session.finish('rejected', refused);
    // The latest holdout: a dataset built now from the lake, the same split a retraining would judge on.
    const dataset = await control.buildDataset({ ref, asOf: new Date(workflowInfo().startTime).toISOString() });
    status.datasetId = dataset.datasetId;
    const judged = await judgeOnHoldout(session, dataset, input.version);
    if ('rejected' in judged) return judged.rejected;
    return deployCandidate(session, { version: input.version, evaluation: judged.evaluation });
  });
}
