import { isClassification, type Task } from '../config/policies.js';
import type { Variant } from '../backends/data/types.js';
import { VARIANT_CODES, variantCode, type LabelOutcome } from './live-metrics.js';

/**
 * request_id → (variant, prediction, time) of the predictions this gateway served recently, so
 * feedback can be joined in memory for live metrics. The lake holds the full join; this index
 * only has to cover the label delay of a live canary analysis.
 *
 * Bound: a ring of `capacity` slots (default 200,000 per model; about 160 bytes each, ≈32 MB)
 * and an age limit (default 24 h). The oldest entry is overwritten when the ring is full and an
 * entry older than the age limit no longer matches; such feedback is still written to the lake
 * and counted as unmatched. Storage is columnar (typed arrays) and the id lookup is an
 * open-addressing hash table over an Int32Array (load ≤ 0.5, backward-shift deletion), so the
 * bound is real memory and adding an entry allocates nothing: a Map of 200k fresh string keys
 * cost ~2 µs per prediction in rehashing and garbage collection.
 */
export interface FeedbackIndexOptions {
  capacity?: number;
  maxAgeMs?: number;
}

export interface JoinedFeedback {
  variant: Variant;
  tsMs: number;
  outcome: LabelOutcome;
  previous?: LabelOutcome;
  /** The same request scored by the shadow model, when it was. */
  shadow?: { outcome: LabelOutcome; previous?: LabelOutcome };
}

export class FeedbackIndex {
  readonly capacity: number;
  readonly maxAgeMs: number;
  private readonly ids: (string | undefined)[];
  private readonly hashes: Int32Array;
  /** Open-addressing table: ring slot + 1, 0 = empty. */
  private readonly table: Int32Array;
  private readonly mask: number;
  private count = 0;
  private readonly variants: Uint8Array;
  private readonly ts: Float64Array;
  private readonly predictions: Float64Array;
  private readonly shadowPredictions: Float64Array;
  private readonly labels: Float64Array;
  private next = 0;

  constructor(options: FeedbackIndexOptions = {}) {
    this.capacity = Math.max(1, options.capacity ?? 200_000);
    this.maxAgeMs = options.maxAgeMs ?? 86_400_000;
    this.ids = new Array(this.capacity);
    this.hashes = new Int32Array(this.capacity);
    let size = 8;
    while (size < this.capacity * 2) size *= 2;
    this.table = new Int32Array(size);
    this.mask = size - 1;
    this.variants = new Uint8Array(this.capacity);
    this.ts = new Float64Array(this.capacity);
    this.predictions = new Float64Array(this.capacity);
    this.shadowPredictions = new Float64Array(this.capacity);
    this.labels = new Float64Array(this.capacity);
  }

  get size(): number {
    return this.count;
  }

  add(requestId: string, variant: Variant, prediction: number, tsMs: number): void {
    const slot = this.next;
    this.next = (slot + 1) % this.capacity;
    if (this.ids[slot] !== undefined) this.remove(slot);
    this.ids[slot] = requestId;
    const h = hash(requestId);
    this.hashes[slot] = h;
    let at = h & this.mask;
    while (this.table[at] !== 0) at = (at + 1) & this.mask;
    this.table[at] = slot + 1;
    this.count++;
    this.variants[slot] = variantCode(variant);
    this.ts[slot] = tsMs;
    this.predictions[slot] = prediction;
    this.shadowPredictions[slot] = Number.NaN;
    this.labels[slot] = Number.NaN;
  }

  private find(requestId: string): number {
    let at = hash(requestId) & this.mask;
    for (let v = this.table[at]; v !== 0; v = this.table[at]) {
      if (this.ids[v - 1] === requestId) return v - 1;
      at = (at + 1) & this.mask;
    }
    return -1;
  }

  /** Removes a ring slot's id from the table, shifting later entries of its probe run back. */
  private remove(slot: number): void {
    let i = this.hashes[slot] & this.mask;
    while (this.table[i] !== slot + 1) i = (i + 1) & this.mask;
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      const v = this.table[j];
      if (v === 0) break;
      const home = this.hashes[v - 1] & this.mask;
      // Move entry j into the hole at i unless its home lies cyclically in (i, j].
      const inRange = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!inRange) {
        this.table[i] = v;
        i = j;
      }
    }
    this.table[i] = 0;
    this.ids[slot] = undefined;
    this.count--;
  }

  /** Records the shadow model's prediction for a request already added. */
  addShadow(requestId: string, prediction: number): void {
    const slot = this.find(requestId);
    if (slot >= 0) this.shadowPredictions[slot] = prediction;
  }

  /** Joins a label to its prediction; undefined when the request is unknown here or too old. */
  join(requestId: string, label: number, task: Task, nowMs = Date.now()): JoinedFeedback | undefined {
    const slot = this.find(requestId);
    if (slot < 0) return undefined;
    if (nowMs - this.ts[slot] > this.maxAgeMs) return undefined;
    const before = this.labels[slot];
    this.labels[slot] = label;
    const judge = (prediction: number, l: number): LabelOutcome =>
      isClassification(task) ? { correct: prediction === l, absError: prediction === l ? 0 : 1 } : { correct: false, absError: Math.abs(prediction - l) };
    const p = this.predictions[slot];
    const sp = this.shadowPredictions[slot];
    const hadLabel = !Number.isNaN(before);
    return {
      variant: VARIANT_CODES[this.variants[slot]],
      tsMs: this.ts[slot],
      outcome: judge(p, label),
      previous: hadLabel ? judge(p, before) : undefined,
      shadow: Number.isNaN(sp) ? undefined : { outcome: judge(sp, label), previous: hadLabel ? judge(sp, before) : undefined },
    };
  }
}

/** FNV-1a over the id's UTF-16 code units, mixed (fmix32) so sequential ids spread over the table. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h ^ (h >>> 16)) | 0;
}
