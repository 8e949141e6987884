/**
 * Links into the Temporal web UI's workflow list, filtered by a visibility query. The monitor starts
 * one workflow per check (one a minute in the demo, 24 a day per model in production), so the
 * unfiltered list buries the pipelines; these queries list pipelines only, by their workflow type
 * and the RetrainModel search attribute every pipeline carries from its start.
 */
import { MONITOR_WORKFLOW_TYPE, PIPELINE_WORKFLOW_TYPE } from '../workflows/ids.js';

/** The visibility query for pipeline runs: of one model, at one stage, or all of them. */
export function pipelinesQuery(filter: { model?: string; stage?: string } = {}): string {
  const clauses = [`WorkflowType = ${JSON.stringify(PIPELINE_WORKFLOW_TYPE)}`];
  if (filter.model) clauses.push(`RetrainModel = ${JSON.stringify(filter.model)}`);
  if (filter.stage) clauses.push(`RetrainStage = ${JSON.stringify(filter.stage)}`);
  return clauses.join(' AND ');
}

/** The monitor checks of a model that started (or found running) a pipeline: the checks worth a look. */
export function decisiveChecksQuery(model: string): string {
  return `WorkflowType = ${JSON.stringify(MONITOR_WORKFLOW_TYPE)} AND RetrainModel = ${JSON.stringify(model)} AND RetrainStage IN ("monitor_started", "monitor_already_running")`;
}

/** The UI's workflow list filtered by `query`, e.g. http://localhost:8233/namespaces/default/workflows?query=WorkflowType%20%3D%20... */
export function uiWorkflowsUrl(uiUrl: string, namespace: string, query?: string): string {
  const base = `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows`;
  return query ? `${base}?query=${encodeURIComponent(query)}` : base;
}
