/**
 * What the gateway benchmarks share (bench/gateway.ts, bench/gateway-soak.ts): the fraud model they
 * serve, its two artifacts (champion and challenger), request bodies, autocannon (typed locally),
 * the lake counters from the gateway's /metrics, and a quantile over sorted latencies.
 */
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ModelSpec } from '../src/config/schema.js';
import { fraudModelSpec } from '../src/demo/simulator/fraud.js';
import { createGenerator, driftPlan, fraudReferenceModel } from '../src/demo/simulator/index.js';

// autocannon ships no types (and @types/autocannon is not installed): the little used here, typed locally.
export interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
export type AutocannonInstance = PromiseLike<AutocannonResult> & {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  on(event: 'reqError', fn: (err: Error) => void): void;
  stop(): void;
};
export const autocannon = createRequire(import.meta.url)('autocannon') as (options: Record<string, unknown>) => AutocannonInstance;

export const MODEL = 'fraud-detector';
export const ROUTE = `/v1/models/${MODEL}/predict`;
export const FEEDBACK_ROUTE = `/v1/models/${MODEL}/feedback`;

export function fraudSpec(): ModelSpec {
  return fraudModelSpec({ name: MODEL });
}

/** The champion (v1) and challenger (v2) artifacts: retrain-linear/v1 fraud models, written under `<dir>/artifacts`. */
export function writeBenchArtifacts(dir: string): { v1: string; v2: string } {
  mkdirSync(path.join(dir, 'artifacts'), { recursive: true });
  const v1 = path.join(dir, 'artifacts', 'v1.json');
  const v2 = path.join(dir, 'artifacts', 'v2.json');
  writeFileSync(v1, JSON.stringify(fraudReferenceModel({ variant: 0 })));
  writeFileSync(v2, JSON.stringify(fraudReferenceModel({ variant: 1 })));
  return { v1, v2 };
}

/** `n` predict bodies from the fraud generator (no drift), each with its ground-truth label (for feedback). */
export function labelledBodies(n: number): Array<{ body: string; label: number }> {
  const g = createGenerator(fraudSpec(), { seed: 1, drift: driftPlan('none', 0) });
  return Array.from({ length: n }, () => {
    const e = g.sample(0);
    return { body: JSON.stringify({ entity_id: e.entity_id, features: e.features }), label: e.label };
  });
}

export function bodies(n: number): string[] {
  return labelledBodies(n).map((s) => s.body);
}

/** Sum of a Prometheus counter/gauge over the series whose labels contain every `match` fragment. */
export function promSum(text: string, name: string, ...match: string[]): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name} `))) continue;
    if (match.every((m) => line.includes(m))) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

/** The gateway's lake-log counters for one table (retrain_gateway_lake_*). */
export async function metricsOf(port: number, table: 'predictions' | 'labels' = 'predictions'): Promise<{ rowsLogged: number; rowsPending: number; flushFailures: number; rowsDropped: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const t = `table="${table}"`;
  return {
    rowsLogged: promSum(text, 'retrain_gateway_lake_rows_logged_total', t),
    rowsPending: promSum(text, 'retrain_gateway_lake_rows_pending', t),
    flushFailures: promSum(text, 'retrain_gateway_lake_flush_failures_total', t),
    rowsDropped: promSum(text, 'retrain_gateway_lake_rows_dropped_total', t),
  };
}

/** The p-quantile of ascending `sorted` (nearest rank below); NaN when empty. */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : Number.NaN;
}
