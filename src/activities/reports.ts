import type { DriftReport, FeatureDrift } from '../drift/index.js';
import type { ModelSpec } from '../config/schema.js';
import { historyPointFromCheck, ReportStore, type PipelineReportInput } from '../reports/index.js';
import { renderCheckReportOffThread, renderPipelineReportOffThread } from '../reports/render-thread.js';
import type { Backends } from './backends.js';
import type { CheckResult } from './contracts.js';

/**
 * The HTML reports the monitor and the pipeline leave behind, under `<dataDir>/reports`, linked
 * from the workflows' details in the Temporal UI through `retrain serve-reports`. A report that
 * cannot be written is logged and skipped: it must never cost a check or a run.
 */
export interface WrittenReport {
  /** File on the worker's disk. */
  path: string;
  /** Where `retrain serve-reports` serves it. */
  url: string;
}

export function reportWriter(b: Pick<Backends, 'settings' | 'logger' | 'specs'>) {
  const store = new ReportStore(b.settings.dataDir);
  const written = (file: string): WrittenReport => ({ path: file, url: `${b.settings.reportsUrl}/${store.relativeUrl(file)}` });

  return {
    store,

    /** The check's report, its point in the model's history, and old reports pruned. */
    async check(spec: ModelSpec, result: CheckResult, measured: { drift: DriftReport | null; labelShift?: FeatureDrift | null; unavailable?: string }): Promise<WrittenReport | undefined> {
      try {
        const html = await renderCheckReportOffThread({
          ...result,
          drift: measured.drift,
          driftUnavailableReason: measured.unavailable,
          performance: result.performance && { ...result.performance, threshold: spec.triggers.performance.threshold },
          labelShift: result.labelShift && { ...result.labelShift, threshold: spec.triggers.labelShift.jensenShannon, distribution: measured.labelShift },
          driftImpact: result.drift.impact,
          history: await store.readHistory(spec.name),
        });
        const file = await store.writeCheck(spec.name, result.checkedAt, html);
        await store.appendHistory(spec.name, historyPointFromCheck(result));
        await store.pruneChecks(spec.name);
        return written(file);
      } catch (err) {
        b.logger.warn({ model: spec.name, err }, 'Could not write the check report');
        return undefined;
      }
    },

    async pipeline(input: PipelineReportInput): Promise<WrittenReport | undefined> {
      try {
        // Runbook links come from the worker's own config, whatever the payload says.
        const report = { ...input, runbooks: b.specs.require(input.model).spec.runbooks };
        const file = await store.writePipeline(input.model, input.workflowId, await renderPipelineReportOffThread(report), input.runId);
        return written(file);
      } catch (err) {
        b.logger.warn({ model: input.model, workflowId: input.workflowId, err }, 'Could not write the pipeline report');
        return undefined;
      }
    },
  };
}
