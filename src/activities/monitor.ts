import { recentPipelineRuns, startPipeline } from '../client.js';
import type { Backends } from './backends.js';
import { measureCheck, registryDetectorStore } from './check.js';
import type { CheckResult, MonitorActivities } from './contracts.js';
import { reportWriter } from './reports.js';
import { refOf } from './spec-catalog.js';

/**
 * When the model last retrained or had its champion moved: the later of the last ledger entry (a
 * promotion or a manual rollback) and the last pipeline's close; and the closed runs, for the back-off.
 */
async function history(b: Backends, model: string): Promise<{ lastRetrainAt?: string; recentRuns?: CheckResult['recentRuns'] }> {
  const ledger = b.registry.ledger({ model, limit: 1, newest: true })[0];
  const recentRuns = b.client ? await recentPipelineRuns(b.client, model) : undefined;
  const times = [ledger ? Date.parse(ledger.at) : Number.NaN, recentRuns?.[0] ? Date.parse(recentRuns[0].closedAt) : Number.NaN].filter(Number.isFinite);
  return { lastRetrainAt: times.length > 0 ? new Date(Math.max(...times)).toISOString() : undefined, recentRuns };
}

export function monitorActivities(b: Backends): MonitorActivities {
  const reports = reportWriter(b);
  return {
    async resolveSpec(ref) {
      return b.specs.resolve(ref);
    },

    async checkModel(input): Promise<CheckResult> {
      const spec = b.specs.resolve(refOf(input));
      const asOf = input.asOf;
      const { result, drift, labelShift, unavailable } = await measureCheck({ data: b.data, registry: b.registry, detectors: registryDetectorStore(b.registry), ...(await history(b, spec.name)) }, spec, new Date(asOf));
      const report = await reports.check(spec, result, { drift, labelShift, unavailable });
      if (report) Object.assign(result, { reportPath: report.path, reportUrl: report.url });
      return result;
    },

    async startRetrain(input) {
      const ref = refOf(input);
      const spec = b.specs.resolve(ref);
      const { kinds, reasons, requestedBy } = input;
      if (!b.client) throw new Error('the worker has no Temporal client for starting pipelines');
      const outcome = await startPipeline(b.client, b.settings, spec, { kinds, reasons, requestedBy }, ref.revision);
      return outcome.started ? { started: true, workflowId: outcome.workflowId, runId: outcome.runId } : { started: false, workflowId: outcome.workflowId, runId: outcome.alreadyRunning };
    },
  };
}
