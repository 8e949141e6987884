/**
 * Shared test helpers: the fixture loader and the dataset generator that
 * mirrors scripts/drift-fixtures/generate.py bit for bit (mulberry32 + only
 * +, -, *, floor, so IEEE-754 gives identical doubles in both languages).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../src/drift/index.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface GenSpec {
  kind: 'uniform' | 'normal' | 'int' | 'grid';
  n: number;
  seed: number;
  loc?: number;
  scale?: number;
  k?: number;
  step?: number;
}

export type DataRef = { values: number[] } | { gen: GenSpec };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Fixture = any;

let cached: Fixture | null = null;
export function fixture(): Fixture {
  if (cached === null) {
    cached = JSON.parse(readFileSync(join(here, '..', 'fixtures', 'drift', 'expected.json'), 'utf8'));
  }
  return cached;
}

export function generate(spec: GenSpec): Float64Array {
  const { n, seed, kind } = spec;
  const loc = spec.loc ?? 0;
  const scale = spec.scale ?? 1;
  const out = new Float64Array(n);
  if (kind === 'uniform') {
    const r = mulberry32(seed);
    for (let i = 0; i < n; i++) out[i] = loc + scale * r();
  } else if (kind === 'normal') {
    const r = mulberry32(seed);
    for (let i = 0; i < n; i++) {
      let s = r() + r();
      s = s + r();
      s = s + r();
      out[i] = loc + scale * (s - 2);
    }
  } else if (kind === 'int') {
    const r = mulberry32(seed);
    for (let i = 0; i < n; i++) out[i] = Math.floor(r() * (spec.k as number)) + loc;
  } else if (kind === 'grid') {
    const x = generate({ ...spec, kind: 'normal' });
    const step = spec.step as number;
    for (let i = 0; i < n; i++) out[i] = Math.floor(x[i] / step) * step;
  } else {
    throw new Error(`unknown generator ${kind as string}`);
  }
  return out;
}

const cache = new Map<string, Float64Array>();
export function materialise(ref: DataRef): Float64Array {
  if ('values' in ref) return Float64Array.from(ref.values);
  const key = JSON.stringify(ref.gen);
  let v = cache.get(key);
  if (!v) {
    v = generate(ref.gen);
    cache.set(key, v);
  }
  return v;
}

/** |actual - expected| <= rel * |expected| (or <= abs when expected is ~0). */
export function assertRel(actual: number, expected: number, rel: number, label: string, abs = 1e-15): void {
  const tol = Math.max(rel * Math.abs(expected), abs);
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${label}: got ${actual}, expected ${expected} (diff ${Math.abs(actual - expected)}, tol ${tol})`,
  );
}

export function assertAbs(actual: number, expected: number, abs: number, label: string): void {
  assert.ok(
    Math.abs(actual - expected) <= abs,
    `${label}: got ${actual}, expected ${expected} (diff ${Math.abs(actual - expected)}, tol ${abs})`,
  );
}

/** Tolerances required by the brief: statistics 1e-9 relative, p-values 1e-6 absolute. */
export const STAT_REL = 1e-9;
export const P_ABS = 1e-6;
