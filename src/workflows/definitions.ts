import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PipelineStatus } from './status.js';

/**
 * The messages a pipeline understands. The CLI, the tests and the Temporal UI all use these names.
 */
export interface Decision {
  /** Who decided; checked against the model's approver allowlist. */
  by: string;
  comment?: string;
}

export const approveSignal = defineSignal<[Decision]>('approve');
export const rejectSignal = defineSignal<[Decision]>('reject');
/** Same decisions as updates: the caller learns at once whether it was accepted, and why not. */
export const approveUpdate = defineUpdate<string, [Decision]>('approveUpdate');
export const rejectUpdate = defineUpdate<string, [Decision]>('rejectUpdate');

export const pauseSignal = defineSignal<[Decision]>('pause');
export const resumeSignal = defineSignal<[Decision]>('resume');
/** Roll back now. */
export const abortSignal = defineSignal<[Decision]>('abort');
/** Skip the remaining canary steps and promote. */
export const promoteSignal = defineSignal<[Decision]>('promote');

export const statusQuery = defineQuery<PipelineStatus>('status');
