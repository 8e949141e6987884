import type { CheckResult } from '../domain/check.js';

/** One monitor check, as kept in `<model>/history.jsonl` for the over-time charts. */
export interface CheckHistoryPoint {
  checkedAt: string;
  /** Drifted / evaluated features (0 when nothing could be evaluated). */
  driftShare: number;
  driftedFeatures: number;
  evaluatedFeatures: number;
  /** Overall drift verdict of the check, when known. */
  verdict?: 'drift' | 'ok' | 'insufficient_data';
  performance?: { metric: string; value: number; labels: number };
  /** Jensen-Shannon distance of the label distribution. */
  labelShift?: number;
  /** Predictions in the check's window. */
  rows: number;
}

/** The history point of a check result. */
export function historyPointFromCheck(check: CheckResult): CheckHistoryPoint {
  const point: CheckHistoryPoint = {
    checkedAt: check.checkedAt,
    driftShare: check.drift.driftShare,
    driftedFeatures: check.drift.drifted.length,
    evaluatedFeatures: check.drift.evaluatedFeatures,
    verdict: check.drift.verdict,
    rows: check.window.rows,
  };
  if (check.performance) point.performance = { ...check.performance };
  if (check.labelShift) point.labelShift = check.labelShift.jensenShannon;
  return point;
}

/** Whether a parsed JSON value looks like a history point (so a corrupt line is skipped, not charted). */
export function isHistoryPoint(v: unknown): v is CheckHistoryPoint {
  if (v === null || typeof v !== 'object') return false;
  const p = v as Record<string, unknown>;
  return typeof p.checkedAt === 'string' && typeof p.driftShare === 'number' && typeof p.driftedFeatures === 'number'
    && typeof p.evaluatedFeatures === 'number' && typeof p.rows === 'number';
}
