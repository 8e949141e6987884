/**
 * Which Temporal server a test file needs, declared by the file itself in a comment among its
 * first lines (read by scripts/run-tests.ts, checked by test/structure/server-markers.test.ts):
 *
 *     // @server time-skipping      the time-skipping test server; one such file at a time (they share its clock)
 *     // @server dev                the dev server; one such file at a time (they start CPU-hungry real processes)
 *     // @server dev concurrent     the dev server, and safe beside any other file: its own task queues,
 *                                   data and ports, no schedules, no kill or restart of shared processes
 *                                   (run after the time-skipping files, beside the dev stream)
 *
 * A file without a marker is pure: it runs beside the other pure files and no server is started for it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export type ServerNeed = 'time-skipping' | 'dev' | 'dev-concurrent' | 'none';

/** The marker must sit in the file's first lines, where a reader sees it before the imports. */
const HEAD_LINES = 10;
const MARKER = /^\/\/ @server (\S+)(?: (\S+))?\s*$/;

/** The server a test file's text declares; a malformed marker is an error naming the file. */
export function serverNeed(text: string, file = 'test file'): ServerNeed {
  for (const line of text.split('\n').slice(0, HEAD_LINES)) {
    if (!line.startsWith('// @server')) continue;
    const m = MARKER.exec(line);
    const [server, option] = m ? [m[1], m[2]] : [];
    if (server === 'time-skipping' && option === undefined) return 'time-skipping';
    if (server === 'dev' && option === undefined) return 'dev';
    if (server === 'dev' && option === 'concurrent') return 'dev-concurrent';
    throw new Error(`${file}: unknown server marker "${line.trim()}" (expected "// @server time-skipping", "// @server dev" or "// @server dev concurrent")`);
  }
  return 'none';
}

/** Every `*.test.ts` under `dir`, sorted. */
export function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...testFiles(full));
    else if (entry.endsWith('.test.ts')) out.push(full);
  }
  return out.sort();
}

export interface TestPlan {
  /** One at a time on the time-skipping server. */
  timeSkipping: string[];
  /** One at a time on the dev server, beside the time-skipping stream. */
  devServer: string[];
  /**
   * On the dev server, one at a time after the time-skipping files in their stream (which ends well
   * before the dev stream): the long self-contained files fill that stream's idle end instead of
   * lengthening the pure phase.
   */
  devConcurrent: string[];
  /** Two at a time before the server streams (the dev server is up when a file needs one). */
  pure: string[];
  /** Whether any selected file needs a server. */
  needsServers: boolean;
}

export function planTests(files: string[]): TestPlan {
  const plan: TestPlan = { timeSkipping: [], devServer: [], devConcurrent: [], pure: [], needsServers: false };
  for (const file of files) {
    const need = serverNeed(readFileSync(file, 'utf8'), file);
    if (need === 'time-skipping') plan.timeSkipping.push(file);
    else if (need === 'dev') plan.devServer.push(file);
    else if (need === 'dev-concurrent') plan.devConcurrent.push(file);
    else plan.pure.push(file);
    if (need !== 'none') plan.needsServers = true;
  }
  return plan;
}
