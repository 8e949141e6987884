/**
 * The pre-traffic checks' record and the gateway's answers to synthetic requests: shared by the
 * gateway (src/serving), its client (src/backends/serving), the activity, the workflow's status and
 * the run report. Built and judged in src/serving/synthetic-requests.ts.
 */

export type SyntheticCategory = 'typical' | 'edge' | 'missing' | 'unseen';

export type SyntheticFeatures = Record<string, number | string | null>;

/** One row's answer from the gateway's synthetic-request route. Non-finite numbers arrive as strings ("NaN"). */
export type SyntheticAnswer =
  | { outcome: 'scored'; prediction: unknown; score: unknown; latencyMs: number }
  | { outcome: 'error'; message: string; latencyMs: number }
  | { outcome: 'refused'; status: number; error: string; message: string };

export interface PreTrafficFailure {
  category: SyntheticCategory | 'latency' | 'deployment';
  label: string;
  /** The row sent (absent for failures of the whole check). */
  row?: SyntheticFeatures;
  reason: string;
}

/** What the pre-traffic checks did and found: kept in the run's status and report. */
export interface PreTrafficRecord {
  at: string;
  /** The version checked (the challenger). */
  version: number;
  /** Whose reference profile the rows were built from. */
  profile: 'challenger' | 'champion' | 'none';
  budgetMs: number;
  /** Rows sent per category. */
  requests: Record<SyntheticCategory, number>;
  leftOut: number;
  scored: number;
  /** Rows the schema refuses (a feature left out) that the gateway refused, as it must. */
  refusedAsExpected: number;
  /** Latency in the gateway of each row's validation and scoring; null without answers. */
  latencyMs: { p50: number | null; p99: number | null; max: number | null };
  /** The first failures (at most MAX_LISTED_FAILURES); `failureCount` counts them all. */
  failures: PreTrafficFailure[];
  failureCount: number;
  passed: boolean;
  reason: string;
}
