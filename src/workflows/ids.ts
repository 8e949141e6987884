/**
 * The names by which clients start and find this folder's workflows: workflow types and the
 * deterministic workflow ids (one active pipeline and one monitor schedule per model). Kept apart
 * from the workflow definitions so that the CLI, the schedules and the activities can use them
 * without loading workflow code: nothing here imports '@temporalio/workflow' or another workflow module.
 */

/** Workflow types: the names of the functions workflows/index.ts exports (test/structure checks them). */
export const PIPELINE_WORKFLOW_TYPE = 'retrainPipeline';
export const MONITOR_WORKFLOW_TYPE = 'monitorModel';
/** `retrain deploy`: a registered version through gates, approval and canary, under the pipeline's id. */
export const DEPLOY_WORKFLOW_TYPE = 'deployVersion';

/** One step of a model's online learner (learning: online | hybrid), run by its schedule. */
export const LEARNING_WORKFLOW_TYPE = 'onlineLearningStep';

/** The one active run of a model, a pipeline or a deployment (a second trigger is answered "already running"). */
export const pipelineWorkflowId = (model: string) => `retrain-${model}`;

/** The workflow id a model's monitor schedule starts its checks with. */
export const monitorWorkflowId = (model: string) => `retrain-monitor-${model}`;

/** The workflow id (and schedule id) of a model's online learner steps. */
export const learnerWorkflowId = (model: string) => `retrain-learn-${model}`;

/**
 * The visibility query for a model's runs, pipelines and deployments alike (the monitor's one
 * workflow per check is left out): of one model, at one stage, or all of them.
 */
export function runsQuery(filter: { model?: string; stage?: string; trigger?: string } = {}): string {
  const clauses = [`WorkflowType IN (${JSON.stringify(PIPELINE_WORKFLOW_TYPE)}, ${JSON.stringify(DEPLOY_WORKFLOW_TYPE)})`];
  if (filter.model) clauses.push(`RetrainModel = ${JSON.stringify(filter.model)}`);
  if (filter.stage) clauses.push(`RetrainStage = ${JSON.stringify(filter.stage)}`);
  if (filter.trigger) clauses.push(`RetrainTrigger = ${JSON.stringify(filter.trigger)}`);
  return clauses.join(' AND ');
}
