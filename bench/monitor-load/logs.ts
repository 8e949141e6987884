/** Warnings and errors in the worker's and the dev server's JSON logs, and log tails. */
import { existsSync, readFileSync } from 'node:fs';

/** Counts of log lines at warn level or above by message (pino JSON: level >= 40; the Temporal server: WARN/ERROR). */
export function logProblems(file: string, fromLine = 0, mentioning?: string[]): { lines: number; problems: Map<string, number> } {
  const all = existsSync(file) ? readFileSync(file, 'utf8').split('\n') : [];
  const problems = new Map<string, number>();
  for (const line of all.slice(fromLine)) {
    if (!line.startsWith('{')) continue;
    if (mentioning && !mentioning.some((m) => line.includes(m))) continue;
    try {
      const j = JSON.parse(line) as { level?: number | string; msg?: string; error?: string; err?: { message?: string } };
      const bad = typeof j.level === 'number' ? j.level >= 40 : j.level === 'WARN' || j.level === 'ERROR';
      if (!bad) continue;
      const msg = (j.msg ?? '?').replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(:\d+:\d+)?/g, '<run>');
      const key = `${typeof j.level === 'number' ? (j.level >= 50 ? 'ERROR' : 'WARN') : j.level} ${msg}${j.error ? ` (${String(j.error).slice(0, 60)})` : j.err?.message ? ` (${j.err.message.slice(0, 60)})` : ''}`;
      problems.set(key, (problems.get(key) ?? 0) + 1);
    } catch {
      // not JSON
    }
  }
  return { lines: all.length, problems };
}

export const problemText = (m: Map<string, number>) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n} x ${k}`)
    .join('; ') || 'none';

export function tail(file: string, lines = 20): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n') : '(no log)';
}
