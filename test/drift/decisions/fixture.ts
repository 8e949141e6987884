/**
 * The decision fixtures (scripts/decision-fixtures/generate.py) and the data
 * they describe by seed, rebuilt bit for bit: mulberry32 plus only +, -, *,
 * floor and comparisons, so IEEE-754 gives the same doubles as numpy.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../../src/drift/index.js';

const here = dirname(fileURLToPath(import.meta.url));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let cached: any = null;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function decisionFixture(): any {
  cached ??= JSON.parse(readFileSync(join(here, '..', '..', 'fixtures', 'decision-fixtures.json'), 'utf8'));
  return cached;
}

function draws(seed: number, count: number): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: count }, () => r());
}

/** generate.py probabilities(): confident positives (1 - b*b) and negatives (0.8*b*b), calibrated. */
export function probabilities(seed: number, n: number, positiveShare = 0.35): Float64Array {
  const u = draws(seed, 2 * n);
  return Float64Array.from({ length: n }, (_, i) => {
    const a = u[2 * i];
    const b = u[2 * i + 1];
    return a < positiveShare ? 1.0 - b * b : 0.8 * b * b;
  });
}

/** generate.py labels(): y_i = 1 when v_i < p_i. */
export function labels(seed: number, p: Float64Array): Float64Array {
  const v = draws(seed, p.length);
  return p.map((pi, i) => (v[i] < pi ? 1 : 0));
}

/** generate.py isotonic_generated rows: scores on a 1/200 grid, true P(y = 1 | s) = 0.25 + 0.5 s. */
export function overconfidentRows(seedScores: number, seedLabels: number, n: number): { scores: Float64Array; labels: Float64Array } {
  const scores = draws(seedScores, n).map((u) => Math.floor(u * 200.0) * 0.005);
  const v = draws(seedLabels, n);
  return { scores, labels: scores.map((s, i) => (v[i] < 0.25 + 0.5 * s ? 1 : 0)) };
}

/**
 * |actual - expected| <= tolerance, with a message. Every assertion here
 * carries its own message: Node builds a missing one by re-parsing the
 * (transpiled, single-line) source, which takes minutes.
 */
export function near(actual: number, expected: number, tolerance: number, label: string): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`${label}: got ${actual}, expected ${expected} ± ${tolerance}`);
  }
}
