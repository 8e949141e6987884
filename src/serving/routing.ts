/**
 * Sticky weighted split. An entity's bucket is a stable hash of (model, entity key) into
 * 0..9999; the challenger takes buckets below weight × 100. So one entity always sees one variant
 * at a given weight, and because the threshold only grows as a canary ramps (5% → 25% → 100%),
 * an entity moved to the challenger stays there. The model name is part of the key so different
 * models split the same user base independently.
 *
 * Hash: 32-bit FNV-1a over the UTF-16 code units, then murmur3's fmix32 finaliser, because
 * FNV-1a alone mixes the last characters poorly ("user-1".."user-9" would land in clustered
 * buckets). No dependency, ~50 ns per key, the same result in every process and version of Node.
 */

export const BUCKETS = 10_000;

export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Bucket 0..9999 of an entity for a model. */
export function bucketOf(model: string, key: string): number {
  return fmix32(fnv1a32(`${model}\u0000${key}`)) % BUCKETS;
}

/** Whether the entity falls in the challenger's share (weight in percent, 0..100, two decimals honoured). */
export function inChallengerShare(model: string, key: string, weightPercent: number): boolean {
  if (weightPercent <= 0) return false;
  if (weightPercent >= 100) return true;
  return bucketOf(model, key) < Math.round(weightPercent * (BUCKETS / 100));
}
