/**
 * Fast ordering primitives for Float64Array. V8's TypedArray#sort costs
 * ~150 ms per million doubles (numpy's SIMD sort ~15 ms), so the hot paths
 * here are an LSD radix sort and sampling-based order-statistic selection
 * that avoids sorting at all (built on the branch-free Binner). All inputs
 * must be finite (callers drop missing values first); results are exact, only
 * the speed is heuristic.
 */
import { Binner } from './binner.js';
import { mulberry32 } from './random.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const view = new DataView(new ArrayBuffer(8));

/** Smallest double greater than x (x finite or -Infinity); +Infinity stays. */
export function nextUp(x: number): number {
  if (x !== x || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  view.setFloat64(0, x);
  // The bit pattern read as a 64-bit integer is monotone in |x|: step it by one.
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

let scratchA = new Uint32Array(0);
let scratchB = new Uint32Array(0);

/** Drops the radix sort's scratch buffers (kept between calls; ~16 bytes per value sorted). */
export function releaseSortScratch(): void {
  scratchA = new Uint32Array(0);
  scratchB = new Uint32Array(0);
}

/**
 * Ascending sorted copy. LSD radix sort on the IEEE-754 bit patterns
 * (11-bit digits, 6 passes; a pass whose digit is constant is skipped, which
 * makes integer-valued or low-precision data much cheaper).
 */
export function sortedCopy(values: Float64Array): Float64Array {
  const n = values.length;
  if (n < 4096 || !LITTLE_ENDIAN) return values.slice().sort();
  const src = new Uint32Array(values.buffer, values.byteOffset, n * 2);
  // The two key buffers are scratch space reused across calls: allocating
  // 32 MB per million values each time mostly buys garbage-collection pauses.
  if (scratchA.length < 2 * n) {
    scratchA = new Uint32Array(2 * n);
    scratchB = new Uint32Array(2 * n);
  }
  let k = scratchA;
  let k2 = scratchB;
  const c = new Uint32Array(6 * 2048);
  for (let i = 0; i < n; i++) {
    let l = src[2 * i];
    let h = src[2 * i + 1];
    // Map doubles to unsigned keys with the same order: flip all bits of
    // negatives, set the sign bit of positives.
    if (h & 0x80000000) { l = ~l >>> 0; h = ~h >>> 0; } else { h = (h | 0x80000000) >>> 0; }
    k[2 * i] = l;
    k[2 * i + 1] = h;
    c[l & 2047]++;
    c[2048 + ((l >>> 11) & 2047)]++;
    c[4096 + ((l >>> 22) | ((h & 1) << 10))]++;
    c[6144 + ((h >>> 1) & 2047)]++;
    c[8192 + ((h >>> 12) & 2047)]++;
    c[10240 + (h >>> 23)]++;
  }
  for (let pass = 0; pass < 6; pass++) {
    const base = pass * 2048;
    let trivial = false;
    for (let b = 0; b < 2048; b++) {
      const cb = c[base + b];
      if (cb === n) { trivial = true; break; }
      if (cb !== 0) break;
    }
    if (trivial) continue;
    let s = 0;
    for (let b = 0; b < 2048; b++) { const t = c[base + b]; c[base + b] = s; s += t; }
    scatter(k, k2, c, base, pass, n);
    const t = k; k = k2; k2 = t;
  }
  const out = new Float64Array(n);
  const ou = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    let l = k[2 * i];
    let h = k[2 * i + 1];
    if (h & 0x80000000) { h = (h & 0x7fffffff) >>> 0; } else { l = ~l >>> 0; h = ~h >>> 0; }
    ou[2 * i] = l;
    ou[2 * i + 1] = h;
  }
  return out;
}

// One radix pass; a separate function per digit position keeps each loop monomorphic.
function scatter(k: Uint32Array, k2: Uint32Array, c: Uint32Array, base: number, pass: number, n: number): void {
  switch (pass) {
    case 0: for (let i = 0; i < n; i++) { const l = k[2 * i]; const p = c[base + (l & 2047)]++; k2[2 * p] = l; k2[2 * p + 1] = k[2 * i + 1]; } break;
    case 1: for (let i = 0; i < n; i++) { const l = k[2 * i]; const p = c[base + ((l >>> 11) & 2047)]++; k2[2 * p] = l; k2[2 * p + 1] = k[2 * i + 1]; } break;
    case 2: for (let i = 0; i < n; i++) { const l = k[2 * i]; const h = k[2 * i + 1]; const p = c[base + ((l >>> 22) | ((h & 1) << 10))]++; k2[2 * p] = l; k2[2 * p + 1] = h; } break;
    case 3: for (let i = 0; i < n; i++) { const h = k[2 * i + 1]; const p = c[base + ((h >>> 1) & 2047)]++; k2[2 * p] = k[2 * i]; k2[2 * p + 1] = h; } break;
    case 4: for (let i = 0; i < n; i++) { const h = k[2 * i + 1]; const p = c[base + ((h >>> 12) & 2047)]++; k2[2 * p] = k[2 * i]; k2[2 * p + 1] = h; } break;
    default: for (let i = 0; i < n; i++) { const h = k[2 * i + 1]; const p = c[base + (h >>> 23)]++; k2[2 * p] = k[2 * i]; k2[2 * p + 1] = h; } break;
  }
}

/**
 * The order statistics values[r] (0-based, as if sorted ascending) for each r
 * in `ranks`, without sorting everything: a seeded random sample brackets
 * every requested rank with a value interval that contains it with
 * overwhelming probability; one branch-free pass bins every value against
 * the brackets, a second gathers the few values inside them, and a
 * quickselect inside each small bracket finds the exact element. A bracket
 * that misses falls back to a full sort, so the answer is always exact.
 * `values` is not modified.
 */
export function selectRanks(values: Float64Array, ranks: ArrayLike<number>): Float64Array {
  const n = values.length;
  const out = new Float64Array(ranks.length);
  if (ranks.length === 0) return out;
  if (n <= 20000) {
    const s = sortedCopy(values);
    for (let i = 0; i < ranks.length; i++) out[i] = s[ranks[i]];
    return out;
  }
  const all = Array.from(ranks);
  const found = new Map<number, number>();
  if (all.includes(0) || all.includes(n - 1)) {
    let mn = Infinity;
    let mx = -Infinity;
    for (let i = 0; i < n; i++) { const x = values[i]; mn = x < mn ? x : mn; mx = x > mx ? x : mx; }
    found.set(0, mn).set(n - 1, mx);
  }
  const wanted = Array.from(new Set(all)).filter((r) => r > 0 && r < n - 1).sort((a, b) => a - b);
  if (wanted.length > 0) {
    const got = selectInner(values, wanted);
    if (got === null) {
      const s = sortedCopy(values);
      for (const r of wanted) found.set(r, s[r]);
    } else {
      for (let i = 0; i < wanted.length; i++) found.set(wanted[i], got[i]);
    }
  }
  for (let i = 0; i < all.length; i++) out[i] = found.get(all[i]) as number;
  return out;
}

/** In-place quickselect: afterwards a[k] is the k-th smallest of a[lo..hi] and the range is partitioned around it. */
function quickselect(a: Float64Array, k: number, lo: number, hi: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) { const t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

function selectInner(values: Float64Array, ranks: number[]): Float64Array | null {
  const n = values.length;
  const s = Math.min(32768, n >> 3);
  const rnd = mulberry32(0x2545f491);
  const raw = new Float64Array(s);
  for (let i = 0; i < s; i++) raw[i] = values[Math.floor(rnd() * n)];
  const sample = sortedCopy(raw);
  // Bracket each rank by sample order statistics ~4 standard deviations away.
  const lows: number[] = [];
  const highs: number[] = [];
  const owner: number[] = [];
  for (const r of ranks) {
    const p = r / (n - 1);
    const pos = p * (s - 1);
    const delta = 4 * Math.sqrt(s * p * (1 - p)) + 3;
    const lo = Math.floor(pos - delta);
    const hi = Math.ceil(pos + delta);
    const L = lo < 0 ? -Infinity : sample[lo];
    const U = hi >= s ? Infinity : sample[hi];
    const j = lows.length - 1;
    if (j >= 0 && L <= highs[j]) {
      highs[j] = Math.max(highs[j], U);
    } else {
      lows.push(L);
      highs.push(U);
    }
    owner.push(lows.length - 1);
  }
  // Two boundaries per bracket, L and nextUp(U): bin 2j+1 holds L <= x <= U.
  const J = lows.length;
  const bounds = new Float64Array(2 * J);
  for (let j = 0; j < J; j++) {
    bounds[2 * j] = lows[j];
    bounds[2 * j + 1] = nextUp(highs[j]);
  }
  const binner = new Binner(bounds);
  const counts = new Float64Array(binner.size + 1);
  const bin = binner.size <= 128 ? new Uint8Array(n) : binner.size < 65536 ? new Uint16Array(n) : new Uint32Array(n);
  binner.indexInto(values, bin, counts);
  const below = new Float64Array(J); // #(x < L_j)
  let acc = 0;
  for (let j = 0; j < J; j++) {
    acc += counts[2 * j];
    below[j] = acc;
    acc += counts[2 * j + 1];
  }
  const out = new Float64Array(ranks.length);
  for (let i = 0; i < ranks.length; i++) {
    const j = owner[i];
    const local = ranks[i] - below[j];
    if (local < 0 || local >= counts[2 * j + 1]) return null; // bracket missed: caller sorts
  }
  // Gather each bracket's values, counting (not storing) those equal to its
  // ends: with heavy ties the ranks usually land exactly on L or U, and the
  // bulk of a bracket is then never copied.
  const start = new Int32Array(J + 1);
  for (let j = 0; j < J; j++) start[j + 1] = start[j] + (lows[j] === highs[j] ? 0 : counts[2 * j + 1]);
  const inside = new Float64Array(start[J]);
  const pos = start.slice(0, J);
  const eqL = new Float64Array(J);
  const eqU = new Float64Array(J);
  for (let i = 0; i < n; i++) {
    const p = bin[i];
    if (p & 1) {
      const j = p >> 1;
      const x = values[i];
      if (x === lows[j]) eqL[j]++;
      else if (x === highs[j]) eqU[j]++;
      else inside[pos[j]++] = x;
    }
  }
  // Ranks are ascending, so within a bracket each quickselect only needs the
  // part to the right of the previous one.
  const done = start.slice(0, J);
  for (let i = 0; i < ranks.length; i++) {
    const j = owner[i];
    const local = ranks[i] - below[j];
    const strict = pos[j] - start[j];
    if (local < eqL[j]) {
      out[i] = lows[j];
    } else if (local >= eqL[j] + strict) {
      out[i] = highs[j];
    } else {
      const k = start[j] + local - eqL[j];
      quickselect(inside, k, done[j], pos[j] - 1);
      out[i] = inside[k];
      done[j] = k;
    }
  }
  return out;
}
