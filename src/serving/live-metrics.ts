import { isClassification, type Task } from '../config/policies.js';
import type { VariantLiveMetrics } from '../domain/canary.js';
import type { Variant } from '../backends/data/types.js';
import { LatencyHistogram } from './histogram.js';

/**
 * Per-variant live numbers for one model, answering "since T" without keeping every request:
 * time buckets of one minute for the last 3 hours, folded into hourly buckets kept for 8 days.
 * A query includes every bucket that overlaps [since, now], so `since` is honoured to the minute
 * within the last 3 hours and to the hour before that. Memory is bounded by the bucket count:
 * at most (180 + 192) buckets × 3 variants × ~1.9 KB ≈ 2 MB per model, allocated only with traffic.
 *
 * Labels are attributed to the bucket of the prediction they judge, so "accuracy since T" means
 * accuracy of the predictions made since T for which feedback has arrived.
 */

export const VARIANT_CODES: readonly Variant[] = ['champion', 'challenger', 'shadow'];
export const variantCode = (v: Variant): number => (v === 'champion' ? 0 : v === 'challenger' ? 1 : 2);

class VariantStats {
  requests = 0;
  errors = 0;
  readonly latency = new LatencyHistogram();
  labelled = 0;
  correct = 0;
  absError = 0;

  add(o: VariantStats): void {
    this.requests += o.requests;
    this.errors += o.errors;
    this.latency.add(o.latency);
    this.labelled += o.labelled;
    this.correct += o.correct;
    this.absError += o.absError;
  }
}

class Bucket {
  readonly stats = [new VariantStats(), new VariantStats(), new VariantStats()];
  constructor(
    readonly start: number,
    readonly width: number,
  ) {}
}

/** What one label says about one prediction. */
export interface LabelOutcome {
  correct: boolean;
  absError: number;
}

export interface LiveVariantMetrics extends VariantLiveMetrics {
  p50LatencyMs: number;
  /** Regression only: mean absolute error over the labelled samples. */
  mae?: number;
}

export interface LiveMetricsOptions {
  fineMs?: number;
  fineRetentionMs?: number;
  coarseMs?: number;
  retentionMs?: number;
}

export class LiveMetrics {
  private readonly fineMs: number;
  private readonly fineRetentionMs: number;
  private readonly coarseMs: number;
  private readonly retentionMs: number;
  private readonly fine = new Map<number, Bucket>();
  private readonly coarse = new Map<number, Bucket>();
  private current: Bucket | undefined;

  constructor(
    private readonly task: Task,
    options: LiveMetricsOptions = {},
  ) {
    this.fineMs = options.fineMs ?? 60_000;
    this.fineRetentionMs = options.fineRetentionMs ?? 3 * 3_600_000;
    this.coarseMs = options.coarseMs ?? 3_600_000;
    this.retentionMs = options.retentionMs ?? 8 * 86_400_000;
  }

  recordRequest(variant: Variant, tsMs: number, latencyMs: number, error: boolean): void {
    const s = this.bucketFor(tsMs).stats[variantCode(variant)];
    s.requests++;
    if (error) s.errors++;
    else s.latency.record(latencyMs);
  }

  /** A label for a prediction made at predictionTsMs; `previous` undoes an earlier label for the same request. */
  recordLabel(variant: Variant, predictionTsMs: number, next: LabelOutcome, previous?: LabelOutcome): void {
    const bucket = this.existingBucket(predictionTsMs);
    if (!bucket) return; // the prediction's bucket has aged out
    const s = bucket.stats[variantCode(variant)];
    if (previous) {
      s.labelled--;
      if (previous.correct) s.correct--;
      s.absError -= previous.absError;
    }
    s.labelled++;
    if (next.correct) s.correct++;
    s.absError += next.absError;
  }

  snapshot(sinceMs: number, nowMs = Date.now()): Record<Variant, LiveVariantMetrics> {
    this.compact(nowMs);
    const totals = [new VariantStats(), new VariantStats(), new VariantStats()];
    for (const map of [this.fine, this.coarse]) {
      for (const b of map.values()) {
        if (b.start + b.width <= sinceMs || b.start > nowMs) continue;
        b.stats.forEach((s, i) => totals[i].add(s));
      }
    }
    const out = {} as Record<Variant, LiveVariantMetrics>;
    VARIANT_CODES.forEach((v, i) => (out[v] = this.describe(totals[i])));
    return out;
  }

  private describe(s: VariantStats): LiveVariantMetrics {
    const m: LiveVariantMetrics = {
      requests: s.requests,
      errors: s.errors,
      p50LatencyMs: round(s.latency.quantile(0.5)),
      p99LatencyMs: round(s.latency.quantile(0.99)),
      labelledSamples: s.labelled,
    };
    if (s.labelled > 0) {
      if (isClassification(this.task)) m.accuracy = s.correct / s.labelled;
      else m.mae = s.absError / s.labelled;
    }
    return m;
  }

  private bucketFor(tsMs: number): Bucket {
    const c = this.current;
    if (c && tsMs >= c.start && tsMs < c.start + c.width) return c;
    const start = Math.floor(tsMs / this.fineMs) * this.fineMs;
    let b = this.fine.get(start);
    if (!b) {
      b = new Bucket(start, this.fineMs);
      this.fine.set(start, b);
      this.compact(tsMs); // a new minute: fold old minutes away (once a minute, off the common path)
    }
    if (!c || start >= c.start) this.current = b;
    return b;
  }

  private existingBucket(tsMs: number): Bucket | undefined {
    return this.fine.get(Math.floor(tsMs / this.fineMs) * this.fineMs) ?? this.coarse.get(Math.floor(tsMs / this.coarseMs) * this.coarseMs);
  }

  /** Folds minute buckets older than the fine retention into hourly ones; drops hourly ones past retention. */
  compact(nowMs: number): void {
    for (const [start, b] of this.fine) {
      if (start + b.width > nowMs - this.fineRetentionMs) continue;
      const cStart = Math.floor(start / this.coarseMs) * this.coarseMs;
      let target = this.coarse.get(cStart);
      if (!target) this.coarse.set(cStart, (target = new Bucket(cStart, this.coarseMs)));
      b.stats.forEach((s, i) => target.stats[i].add(s));
      this.fine.delete(start);
      if (this.current === b) this.current = undefined;
    }
    for (const [start, b] of this.coarse) {
      if (start + b.width <= nowMs - this.retentionMs) this.coarse.delete(start);
    }
  }

  /** Bucket counts, for tests and the memory bound. */
  sizes(): { fine: number; coarse: number } {
    return { fine: this.fine.size, coarse: this.coarse.size };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
