import type { SearchAttributePair } from '@temporalio/common';
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowExecutionInfo } from '@temporalio/client';
import type { ModelSpec } from './config/schema.js';
import type { RuntimeSettings } from './config/settings.js';
import { specRevision } from './config/revision.js';
import {
  approveUpdate,
  controlUpdate,
  rejectUpdate,
  statusQuery,
  type ControlAction,
  type Decision,
} from './workflows/definitions.js';
import { DEPLOY_WORKFLOW_TYPE, LEARNING_WORKFLOW_TYPE, PIPELINE_WORKFLOW_TYPE, pipelineWorkflowId, runsQuery } from './workflows/ids.js';
import type { OnlineLearningResult } from './workflows/online-learning.js';
import type { DeployInput } from './workflows/deploy-version.js';
import type { PipelineInput, PipelineResult } from './workflows/pipeline.js';
import { RetrainCandidate, RetrainModel, RetrainStage, RetrainTrigger } from './domain/search-attributes.js';
import type { PipelineStatus } from './domain/status.js';
import { DecisionRefusedError, RunEndedError, RunNotFoundError } from './client-errors.js';

export { DecisionRefusedError, RunEndedError, RunNotFoundError };

/** Typed operations on pipelines, shared by the CLI, the monitor's starter and the tests. */

export type StartOutcome = { started: true; workflowId: string; runId: string } | { started: false; workflowId: string; alreadyRunning: string };

export async function startPipeline(
  client: Client,
  settings: Pick<RuntimeSettings, 'taskQueues'>,
  spec: ModelSpec,
  trigger: PipelineInput['trigger'],
  /** The revision of `spec` the workers must have; computed from it unless the caller already knows it. */
  configRevision = specRevision(spec),
): Promise<StartOutcome> {
  return startRun(client, settings, spec, {
    type: PIPELINE_WORKFLOW_TYPE,
    input: { model: spec.name, configRevision, trigger, trainingTaskQueue: settings.taskQueues.training } satisfies PipelineInput,
    attributes: [
      { key: RetrainStage, value: 'budget_check' },
      { key: RetrainTrigger, value: trigger.kinds },
    ],
    summary: `Retrain ${spec.name}: ${trigger.reasons.join('; ')}`,
  });
}

/**
 * `retrain deploy`: a registered version through the gates, approval and canary, as the model's one
 * active run (a retraining or another deployment in progress is answered "already running").
 */
export async function startDeployment(
  client: Client,
  settings: Pick<RuntimeSettings, 'taskQueues'>,
  spec: ModelSpec,
  request: { version: number; reason: string; requestedBy: string },
  configRevision = specRevision(spec),
): Promise<StartOutcome> {
  return startRun(client, settings, spec, {
    type: DEPLOY_WORKFLOW_TYPE,
    input: { model: spec.name, configRevision, ...request } satisfies DeployInput,
    attributes: [
      { key: RetrainStage, value: 'building_dataset' },
      { key: RetrainTrigger, value: ['deploy'] },
      // The version a deployment tried stays findable: the monitor never deploys the same registered version twice.
      { key: RetrainCandidate, value: `v${request.version}` },
    ],
    summary: `Deploy ${spec.name} v${request.version}: ${request.reason}`,
  });
}

/** Starts a run of the model under its one run id: a second start while one runs is answered "already running". */
async function startRun(
  client: Client,
  settings: Pick<RuntimeSettings, 'taskQueues'>,
  spec: ModelSpec,
  run: { type: string; input: PipelineInput | DeployInput; attributes: SearchAttributePair[]; summary: string },
): Promise<StartOutcome> {
  const workflowId = pipelineWorkflowId(spec.name);
  try {
    const handle = await client.workflow.start(run.type, {
      taskQueue: settings.taskQueues.control,
      workflowId,
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      args: [run.input],
      typedSearchAttributes: [{ key: RetrainModel, value: spec.name }, ...run.attributes],
      staticSummary: run.summary.slice(0, 400),
    });
    return { started: true, workflowId, runId: handle.firstExecutionRunId };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      const running = await client.workflow.getHandle(workflowId).describe();
      return { started: false, workflowId, alreadyRunning: running.runId };
    }
    throw err;
  }
}

function handleFor(client: Client, model: string) {
  return client.workflow.getHandle<(input: PipelineInput) => Promise<PipelineResult>>(pipelineWorkflowId(model));
}

/** Whether any deployment of `version` of the model ever ran (started, ended, any outcome), from visibility. */
export async function deploymentTried(client: Client, model: string, version: number): Promise<boolean> {
  const query = `WorkflowId = '${pipelineWorkflowId(model)}' AND WorkflowType = '${DEPLOY_WORKFLOW_TYPE}' AND RetrainCandidate = 'v${version}'`;
  for await (const _ of client.workflow.list({ query, pageSize: 1 })) return true;
  return false;
}

/** Approve or reject through an update, so a refusal (not an approver, wrong stage) comes back at once. */
export async function decide(client: Client, model: string, kind: 'approve' | 'reject', decision: Decision): Promise<string> {
  try {
    return await withRun(client, model, 'nothing is waiting for approval', () =>
      handleFor(client, model).executeUpdate(kind === 'approve' ? approveUpdate : rejectUpdate, { args: [withIdentity(client, decision)] }),
    );
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new DecisionRefusedError(err.cause?.message ?? err.message);
    throw err;
  }
}

export type { ControlAction } from './workflows/definitions.js';

/** Pause, resume, abort or promote through an update, so a refusal comes back at once (DecisionRefusedError). */
export async function control(client: Client, model: string, action: ControlAction, decision: Decision): Promise<string> {
  try {
    return await withRun(client, model, `nothing to ${action}`, () => handleFor(client, model).executeUpdate(controlUpdate, { args: [action, withIdentity(client, decision)] }));
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new DecisionRefusedError(err.cause?.message ?? err.message);
    throw err;
  }
}

/** The decision with the identity of the client that sends it (recorded by the workflow as evidence). */
function withIdentity(client: Client, decision: Decision): Decision {
  const identity = process.env.RETRAIN_IDENTITY || client.options.identity;
  return identity ? { ...decision, identity } : decision;
}

export async function pipelineStatus(client: Client, model: string): Promise<PipelineStatus> {
  return withRun(client, model, 'its status could not be read', () => handleFor(client, model).query(statusQuery), { anyFailure: true });
}

/** Runs matching a visibility query, e.g. `RetrainStage = "awaiting_approval"`. */
export async function listRuns(client: Client, filter: { model?: string; stage?: string; trigger?: string; limit?: number } = {}): Promise<WorkflowExecutionInfo[]> {
  const runs: WorkflowExecutionInfo[] = [];
  for await (const run of client.workflow.list({ query: runsQuery(filter) })) {
    runs.push(run);
    if (runs.length >= (filter.limit ?? 50)) break;
  }
  return runs;
}

/**
 * The newest finished step of a model's online learner (learning: online | hybrid) and what it did;
 * undefined before the first. Each step is a workflow of its own, started by the learner's schedule.
 */
export async function latestLearningStep(client: Client, model: string): Promise<{ runId: string; result: OnlineLearningResult } | undefined> {
  const query = `WorkflowType = ${JSON.stringify(LEARNING_WORKFLOW_TYPE)} AND RetrainModel = ${JSON.stringify(model)} AND ExecutionStatus = "Completed"`;
  for await (const run of client.workflow.list({ query })) {
    const result = (await client.workflow.getHandle(run.workflowId, run.runId).result()) as OnlineLearningResult;
    return { runId: run.runId, result };
  }
  return undefined;
}

/**
 * Runs an operation on the model's latest run. The server answers "not found" both when there is
 * no run and when the latest one has closed (an update needs a running workflow): the latest run's
 * description tells the two apart, so `nothing` (what the caller could not do) is said only of the
 * second. A query can also fail on a closed run (no worker to replay it, or it closed before its
 * first task): with `anyFailure`, such a failure is answered the same way.
 */
async function withRun<T>(client: Client, model: string, nothing: string, action: () => Promise<T>, options: { anyFailure?: boolean } = {}): Promise<T> {
  try {
    return await action();
  } catch (err) {
    const notFound = err instanceof WorkflowNotFoundError;
    if (!notFound && !options.anyFailure) throw err;
    let latest: Awaited<ReturnType<ReturnType<typeof handleFor>['describe']>>;
    try {
      latest = await handleFor(client, model).describe();
    } catch (describeErr) {
      if (describeErr instanceof WorkflowNotFoundError) throw new RunNotFoundError(`${model} has no pipeline run at all; start one with \`retrain trigger ${model}\``);
      throw describeErr;
    }
    if (latest.status.name === 'RUNNING') {
      if (!notFound) throw err;
      // Running after all: it started between the two calls.
      throw new RunNotFoundError(`the run of ${model} could not be reached: ${(err as Error).message}`);
    }
    // A run that ended on its own leaves its final stage (promoted, rejected, rolled_back, failed,
    // cancelled); one terminated or timed out from outside leaves the stage it was in.
    const stage = latest.typedSearchAttributes.get(RetrainStage);
    const status = latest.status.name.toLowerCase();
    const outcome = latest.status.name === 'COMPLETED' && stage ? stage : stage && stage !== status ? `${status} in stage ${stage}` : status;
    const cause = notFound ? '' : ` (${[(err as Error).message, ((err as Error).cause as Error | undefined)?.message].filter(Boolean).join(': ')})`;
    throw new RunEndedError(model, outcome, latest.closeTime?.toISOString(), `${nothing}${cause}`);
  }
}

/**
 * The model's closed retraining pipelines (not deployments: a rolled-back deployment says nothing
 * about whether retraining helps), newest first, with how each ended (its final RetrainStage:
 * promoted, rejected, rolled_back, failed, cancelled), from visibility. The cooldown counts from the
 * newest, whatever its outcome; the back-off from the run of outcomes that did not promote.
 */
export async function recentPipelineRuns(client: Client, model: string, limit = 20): Promise<Array<{ closedAt: string; outcome: string }>> {
  const runs: Array<{ closedAt: string; outcome: string }> = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = '${pipelineWorkflowId(model)}' AND WorkflowType = '${PIPELINE_WORKFLOW_TYPE}' AND ExecutionStatus != 'Running'`, pageSize: limit })) {
    if (run.closeTime) {
      const stage = run.searchAttributes?.[RetrainStage.name]?.[0];
      runs.push({ closedAt: run.closeTime.toISOString(), outcome: typeof stage === 'string' ? stage : run.status.name.toLowerCase() });
    }
    if (runs.length >= limit) break;
  }
  return runs.sort((a, b) => Date.parse(b.closedAt) - Date.parse(a.closedAt));
}

/** When the model's last pipeline closed, whatever its outcome. */
export async function lastPipelineClose(client: Client, model: string): Promise<Date | undefined> {
  const [latest] = await recentPipelineRuns(client, model, 20);
  return latest ? new Date(latest.closedAt) : undefined;
}
