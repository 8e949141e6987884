/**
 * `npx tsx bench/registry-bridge.ts [calls]`: what one synchronous registry call costs on each store.
 * Registers a version, promotes it, then times `resolve(model, 'champion')` (the most frequent read)
 * and `getVersion` one by one, printing the median and p99 per call for SQLite (in-process) and
 * PostgreSQL (one bridged round trip: worker thread + loopback server started by the test helper).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PostgresRegistry, type Registry, SqliteRegistry } from '../src/backends/registry/index.js';
import { postgresDatabase, stopPostgres } from '../test/helpers/postgres.js';

const calls = Number(process.argv[2] ?? 1000);
const dir = mkdtempSync(path.join(tmpdir(), 'retrain-bench-bridge-'));
const artifact = path.join(dir, 'model.json');
writeFileSync(artifact, JSON.stringify({
  format: 'retrain-linear/v1', task: 'binary_classification', label: 'y',
  features: [{ name: 'x', type: 'numerical', mean: 0, std: 1, impute: 0 }], weights: [1], bias: 0, threshold: 0.5,
}));

function time(fn: () => unknown): { median: number; p99: number } {
  for (let i = 0; i < 50; i++) fn(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)], p99: ms[Math.floor(ms.length * 0.99)] };
}

async function measure(name: string, registry: Registry): Promise<void> {
  await registry.registerVersion({ model: 'fraud', artifactUri: artifact, metrics: { accuracy: 0.9 }, trainer: 'builtin', referenceProfile: { bins: Array.from({ length: 200 }, (_, i) => i) } });
  registry.promote('fraud', 1, { actor: 'bench', reason: 'bench' });
  const fmt = (r: { median: number; p99: number }) => `median ${(r.median * 1000).toFixed(0)} µs, p99 ${(r.p99 * 1000).toFixed(0)} µs`;
  console.log(`${name.padEnd(10)} resolve(champion) × ${calls}: ${fmt(time(() => registry.resolve('fraud', 'champion')))}`);
  console.log(`${name.padEnd(10)} aliases()          × ${calls}: ${fmt(time(() => registry.aliases('fraud')))}`);
  registry.close();
}

try {
  await measure('SQLite', new SqliteRegistry({ path: path.join(dir, 'registry.db') }));
  await measure('PostgreSQL', new PostgresRegistry({ url: await postgresDatabase('bench') }));
} finally {
  await stopPostgres();
  rmSync(dir, { recursive: true, force: true });
}
