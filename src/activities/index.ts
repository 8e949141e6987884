import type { Backends } from './backends.js';
import type { MonitorActivities, PipelineActivities } from './contracts.js';
import { withFailureProtocol } from './failures.js';
import { monitorActivities } from './monitor.js';
import { notifyActivities } from './notify.js';
import { pipelineActivities } from './pipeline.js';
import { servingActivities } from './serving.js';
import { learningActivities, type LearningActivities } from './learning.js';
import { trainingActivities } from './training.js';

export { openBackends, type Backends } from './backends.js';

/**
 * The activity implementations the worker registers, each a thin adapter over one backend, and
 * each one's failures mapped by the one error protocol (failures.ts): which backend errors are
 * final (non-retryable, typed) and which Temporal retries.
 */
export function buildActivities(b: Backends): PipelineActivities & MonitorActivities & LearningActivities {
  return withFailureProtocol({
    ...notifyActivities(b),
    ...pipelineActivities(b),
    ...trainingActivities(b),
    ...servingActivities(b),
    ...monitorActivities(b),
    ...learningActivities(b),
  });
}
