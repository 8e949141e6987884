import { createHash } from 'node:crypto';
import type { ModelSpec } from './schema.js';

/**
 * A model spec's revision: a short hash of its validated form (defaults filled, keys sorted), so two
 * processes that read the same YAML name the same revision. Runs carry the revision, never the spec:
 * workers take every setting from their own validated config (issue: trust nothing from a payload).
 */
export function specRevision(spec: ModelSpec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, 16);
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
