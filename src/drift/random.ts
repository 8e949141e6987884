/**
 * Seeded randomness for the profile's reference sample. Determinism matters
 * more than statistical quality here: the same data and seed must give the
 * same profile byte for byte, on every machine, so a retraining decision can
 * be replayed (Temporal activities may be retried).
 */

/**
 * mulberry32: a tiny 32-bit PRNG returning doubles in [0, 1). Its state is a
 * counter (seed + k * 0x6D2B79F5), so it is trivially reproducible elsewhere
 * (the Python fixture generator reimplements it with numpy).
 */
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Uniform sample without replacement of min(k, n) values (Li's Algorithm L
 * reservoir sampling). It draws O(k log(n/k)) random numbers instead of one per
 * element, so sampling 1M rows costs microseconds, and it works in one pass
 * over data in any order. Returns the sampled values (not sorted).
 */
export function reservoirSample(values: Float64Array, k: number, random: () => number): Float64Array {
  const n = values.length;
  if (k <= 0) return new Float64Array(0);
  if (n <= k) return values.slice();
  const res = values.slice(0, k);
  // Avoid log(0): random() can return exactly 0.
  const u = (): number => {
    let r = random();
    while (r === 0) r = random();
    return r;
  };
  let w = Math.exp(Math.log(u()) / k);
  let i = k - 1;
  for (;;) {
    i += Math.floor(Math.log(u()) / Math.log(1 - w)) + 1;
    if (!(i < n)) break;
    res[Math.floor(random() * k)] = values[i];
    w *= Math.exp(Math.log(u()) / k);
  }
  return res;
}
