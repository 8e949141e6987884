/**
 * Links into the Temporal web UI's workflow list, filtered by a visibility query. The monitor starts
 * one workflow per check (one a minute in the demo, 24 a day per model in production), so the
 * unfiltered list buries the runs; these queries list runs only (pipelines and `retrain deploy`
 * deployments), by their workflow type and the RetrainModel search attribute every run carries from its start.
 */
import { MONITOR_WORKFLOW_TYPE, runsQuery } from '../workflows/ids.js';

/** The visibility query for runs: of one model, at one stage, or all of them. */
export const pipelinesQuery = (filter: { model?: string; stage?: string } = {}): string => runsQuery(filter);

/** The monitor checks of a model that started (or found running) a pipeline, or started a deployment: the checks worth a look. */
export function decisiveChecksQuery(model: string): string {
  return `WorkflowType = ${JSON.stringify(MONITOR_WORKFLOW_TYPE)} AND RetrainModel = ${JSON.stringify(model)} AND RetrainStage IN ("monitor_started", "monitor_already_running", "monitor_deployment_started")`;
}

/** The UI's workflow list filtered by `query`, e.g. http://localhost:8233/namespaces/default/workflows?query=WorkflowType%20%3D%20... */
export function uiWorkflowsUrl(uiUrl: string, namespace: string, query?: string): string {
  const base = `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows`;
  return query ? `${base}?query=${encodeURIComponent(query)}` : base;
}
