/** What every part of the monitor-load bench shares: options, paths, the traffic shape, the logger, small helpers. */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runtimeSettings, type RuntimeSettings } from '../../src/config/settings.js';
import { createLogger, setLogger } from '../../src/runtime/logger.js';

export const args = process.argv.slice(2);
export const opt = (name: string, def: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PREDICTIONS_PER_MODEL = 600;
export const TRAFFIC_SPAN_MS = 3 * 3_600_000;
export const LABEL_AFTER_MS = 5 * 60_000;
export const DRIFT_EVERY = 4;

export const logger = createLogger({ level: 'warn', pretty: false, destination: process.stderr });
setLogger(logger);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
export const sorted = (xs: number[]) => Float64Array.from(xs).sort();

/** Runs `fn` over items with at most `limit` at a time. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

export function modelName(i: number): string {
  return `bench-mon-${String(i).padStart(3, '0')}`;
}

export function settingsFor(dir: string): RuntimeSettings {
  return runtimeSettings({ ...process.env, RETRAIN_DATA_DIR: dir, RETRAIN_METRICS_PORT: '0' });
}

/** The commit, and how many files under src/ differ from it (the working tree is shared). */
export function codeState(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean).length;
    return dirty ? `${head} + ${dirty} uncommitted file(s) under src/` : head;
  } catch {
    return 'unknown (no git)';
  }
}
