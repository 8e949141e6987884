import { z } from 'zod';

/** Durations in the YAML are human strings ("90s", "15m", "24h", "30d"), as Temporal's own `ms` strings. */
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Milliseconds of a duration string; throws on a string the schema would have refused. */
export function durationMs(value: string): number {
  const match = DURATION_PATTERN.exec(value.trim());
  if (!match) throw new Error(`not a duration: "${value}" (expected e.g. 90s, 15m, 24h, 7d)`);
  return Number(match[1]) * UNIT_MS[match[2]];
}

/** A positive duration such as "15m" or "24h". */
export const duration = () =>
  z
    .string({ error: 'expected a duration such as 15m, 24h or 7d' })
    .regex(DURATION_PATTERN, { error: 'expected a duration such as 15m, 24h or 7d' })
    .refine((v) => !DURATION_PATTERN.test(v) || durationMs(v) > 0, { error: 'expected a duration greater than zero' });

/** Formats milliseconds back into the largest whole unit, for summaries ("canary 25% for 48h"). */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit];
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
