/** The soak's options, constants and small formatting helpers. */
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
export const MINUTES = opt('--minutes', 10);
export const RATE = opt('--rate', 1_000);
export const SHARE = opt('--feedback-share', 0.2);
export const INTERVAL_S = opt('--interval', 30);
export const PHASES = opt('--phases', 10);
export const CONNECTIONS = opt('--connections', 5);
export const SAMPLE_MS = 5_000;
/**
 * The gateway's one structure that legitimately grows with traffic for a while: the feedback join
 * index, a ring of 200,000 predictions per model (src/serving/feedback-index.ts, ≈160 B each). It
 * is full after 200,000 / rate seconds (200 s at 1,000 req/s); memory must be flat after that.
 */
export const JOIN_INDEX_CAPACITY = 200_000;
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ADMIN_TOKEN = 'bench-soak';

export const mb = (bytes: number) => bytes / 2 ** 20;
export const fmtMs = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)} ms` : 'n/a');
export const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
