import { LOWER_IS_BETTER, type MetricName } from '../config/policies.js';

/**
 * What one model's online learner remembers between steps (kept in the registry's store, so every
 * worker sees the same learner and a restart loses nothing), and the rules that move it. The
 * activities do the reading and writing; every decision is here, pure, so it can be tested with
 * worked examples.
 */
export interface OnlineCopy {
  /** `<champion>+online.<updates>` (online-version.ts). */
  version: string;
  artifactUri: string;
  sha256: string;
  updates: number;
}

export interface GoodSnapshot {
  /** The registry version the snapshot was registered as; the champion's own version when none was taken yet. */
  registryVersion: number;
  /** What serves when the learner is reset to it: an online copy, or null for the batch champion alone. */
  copy: OnlineCopy | null;
  /** Its gates metric on the champion's holdout; null until the first snapshot is judged. */
  metric: number | null;
}

export interface LearnerState {
  /** The champion version the learner grew from; a different champion restarts it. */
  base: number;
  /** The newest online copy, or null while it is still the champion's weights. */
  copy: OnlineCopy | null;
  /** The last example read, in (label time, request id) order. */
  cursor: { labelTs: string; requestId: string };
  lastStepAt: string;
  lastSnapshotAt: string;
  lastGood: GoodSnapshot;
  /** Set by a bad snapshot; the learner takes no step until someone unfreezes it. */
  frozen: { at: string; reason: string; snapshotVersion: number } | null;
  totals: { steps: number; applied: number; skipped: number; dropped: number; correct: number };
  /** The champion's gates metric on its holdout, measured with the first snapshot. */
  championMetric?: number;
  /** The latest snapshots, oldest first (at most SNAPSHOT_HISTORY), for the report. */
  snapshots?: Array<{ version: number; at: string; copy: string; metric: number; verdict: 'good' | 'worse' }>;
}

export const SNAPSHOT_HISTORY = 200;

/** A learner starting from a champion at `at`: it learns from labels that arrive after that. */
export function startLearner(champion: { version: number }, at: Date): LearnerState {
  const iso = at.toISOString();
  return {
    base: champion.version,
    copy: null,
    cursor: { labelTs: iso, requestId: '' },
    lastStepAt: iso,
    lastSnapshotAt: iso,
    lastGood: { registryVersion: champion.version, copy: null, metric: null },
    frozen: null,
    totals: { steps: 0, applied: 0, skipped: 0, dropped: 0, correct: 0 },
  };
}

/** How many labels a step may learn: the per-minute bound times the minutes since the last step (at least one, at most an hour's). */
export function stepBudget(state: LearnerState, asOf: Date, maxUpdatesPerMinute: number): number {
  const minutes = Math.min(60, Math.max(1, (asOf.getTime() - Date.parse(state.lastStepAt)) / 60_000));
  return Math.max(1, Math.floor(maxUpdatesPerMinute * minutes));
}

export function snapshotDue(state: LearnerState, asOf: Date, snapshotEveryMs: number): boolean {
  return state.frozen === null && state.copy !== null && state.copy.updates > (state.lastGood.copy?.updates ?? 0) && asOf.getTime() - Date.parse(state.lastSnapshotAt) >= snapshotEveryMs;
}

export interface SnapshotVerdict {
  verdict: 'good' | 'worse' | 'first';
  /** Relative change of the metric against the last good snapshot, signed so that negative is worse. */
  change: number | null;
  detail: string;
}

/**
 * A snapshot against the last good one on the gates metric: worse by more than `tolerance` of the
 * last good value freezes the learner. The first snapshot has the champion (scored on the same
 * holdout) as its last good one.
 */
export function judgeSnapshot(metric: MetricName, lastGood: number | null, snapshot: number, tolerance: number): SnapshotVerdict {
  if (lastGood === null) return { verdict: 'first', change: null, detail: `${metric} ${snapshot.toFixed(4)} (nothing to compare with)` };
  const lower = LOWER_IS_BETTER.has(metric);
  const scale = Math.max(Math.abs(lastGood), 1e-12);
  const change = (lower ? lastGood - snapshot : snapshot - lastGood) / scale;
  const words = `${metric} ${snapshot.toFixed(4)} against ${lastGood.toFixed(4)} for the last good snapshot (${(100 * change).toFixed(2)}%, tolerance ${(100 * tolerance).toFixed(2)}%)`;
  return change < -tolerance ? { verdict: 'worse', change, detail: words } : { verdict: 'good', change, detail: words };
}

/**
 * A person resumes a frozen learner: it carries on from the last good snapshot (what serves since
 * the freeze), with the labels that arrive from now on; those that came while it was frozen are
 * left out, since the feedback was suspect then.
 */
export function unfreeze(state: LearnerState, at: Date): LearnerState {
  const iso = at.toISOString();
  return { ...state, frozen: null, copy: state.lastGood.copy ?? state.copy, cursor: { labelTs: iso, requestId: '' }, lastStepAt: iso, lastSnapshotAt: iso };
}

/** The registry store's key for a model's learner state (shared by the activities and the CLI). */
export const LEARNER_STATE_KEY = 'online-learner';
