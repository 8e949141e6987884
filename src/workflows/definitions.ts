import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PipelineStatus } from '../domain/status.js';

/**
 * The messages a pipeline understands. The CLI, the tests and the Temporal UI all use these names.
 */
export interface Decision {
  /** Who decided; checked (normalised) against the model's approver allowlist. */
  by: string;
  comment?: string;
  /**
   * The identity of the Temporal client that sent it (the CLI sends its connection's identity:
   * the API key's or mTLS certificate's principal where one is configured, else user@host).
   * Recorded with the decision; the name list is the policy, this is the evidence.
   */
  identity?: string;
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

export type ControlAction = 'pause' | 'resume' | 'abort' | 'promote';
/** Pause, resume, abort or promote as an update: refused (not an approver, wrong stage) back to the caller. */
export const controlUpdate = defineUpdate<string, [ControlAction, Decision]>('control');

export const statusQuery = defineQuery<PipelineStatus>('status');
