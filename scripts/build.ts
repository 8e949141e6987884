/**
 * `npm run build` (also `npm install`'s prepare step, and `npm test` before it starts): compiles
 * src/ to dist/, one JavaScript file per TypeScript file, so `retrain` starts without compiling
 * TypeScript on every run. bin/retrain.js runs dist/ only while dist/.source-state still matches the
 * sources (see sourceState); otherwise it runs the sources through tsx.
 *
 *   npx tsx scripts/build.ts          rebuild if src changed since the last build
 *   npx tsx scripts/build.ts --force  rebuild anyway
 *
 * The prepare script skips the build when this file is absent: the Dockerfile runs `npm ci` before
 * it copies the sources (its image runs them through tsx).
 *
 * esbuild, not tsc: it is the compiler tsx already runs on these files (so dist behaves exactly like
 * the development path, same transform and options), it is already installed (tsx depends on it),
 * and it compiles all of src in about 0.4 s where `tsc` takes 10 s without type checks and 22 s with
 * them on a two-core machine. Type checking stays with `npm run typecheck`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** In dist/, written last; bin/retrain.js reads it by this name. */
const STATE_FILE = '.source-state';

/**
 * What the build depends on: every file under src/, the tsconfig esbuild reads and this script,
 * each with its size and modification time. bin/retrain.js computes the same text (keep the two
 * copies identical; test/cli/start.test.ts checks they agree) and compares it with the one saved at
 * build time: any edit, added, removed or renamed file, or a file set back to an older time, makes
 * dist stale. Stat-only: about 5 ms for the ~200 files.
 */
export function sourceState(root = ROOT): string {
  const lines: string[] = [];
  // Plain string paths: path.join costs more here than all the stats (the CLI's start pays for it).
  const add = (rel: string): void => {
    const s = statSync(`${root}/${rel}`);
    if (!s.isDirectory()) return void lines.push(`${rel} ${s.size} ${s.mtimeMs}`);
    for (const name of readdirSync(`${root}/${rel}`).sort()) add(`${rel}/${name}`);
  };
  for (const input of ['tsconfig.json', 'scripts/build.ts', 'src']) add(input);
  return lines.join('\n');
}

/** True when dist/ was built from the sources as they are now. */
export function isFresh(root = ROOT): boolean {
  try {
    return readFileSync(path.join(root, 'dist', STATE_FILE), 'utf8') === sourceState(root);
  } catch {
    return false;
  }
}

/**
 * The worker hands the Temporal bundler `workflows/index.ts` beside worker.js (WORKFLOWS_PATH in
 * src/worker.ts). From dist that is this file, which points the bundler at the TypeScript sources:
 * the workflow bundle stays the one tests and `npm run dev` build (swc over the sources), whichever
 * way the CLI was started.
 */
const WORKFLOWS_ENTRY = `// Written by scripts/build.ts: the workflow bundler's entry when the worker runs from dist (see there).
export * from '../../src/workflows/index.js';
`;

/** Compiles src/ into dist/; returns the milliseconds it took. */
export async function build(root = ROOT): Promise<number> {
  const started = performance.now();
  // Taken before esbuild reads anything: a file saved during the build leaves dist stale, not wrong.
  const state = sourceState(root);
  const src = path.join(root, 'src');
  const entryPoints = readdirSync(src, { recursive: true })
    .map(String)
    .filter((n) => n.endsWith('.ts') && !n.endsWith('.d.ts'))
    .map((n) => path.join(src, n));
  // tsx depends on esbuild; resolving it through tsx does not rely on npm hoisting it.
  const esbuild = createRequire(import.meta.resolve('tsx/package.json'))('esbuild') as typeof import('esbuild');
  const dist = path.join(root, 'dist');
  // Built aside and swapped in whole, so a retrain starting meanwhile never loads a half-written dist.
  const staging = `${dist}.building-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    await esbuild.build({
      entryPoints,
      outdir: staging,
      outbase: src,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // As tsx compiles: function and class names kept, source maps (for --enable-source-maps).
      keepNames: true,
      sourcemap: 'linked',
      sourcesContent: false,
      logLevel: 'warning',
    });
    mkdirSync(path.join(staging, 'workflows'), { recursive: true });
    writeFileSync(path.join(staging, 'workflows', 'index.ts'), WORKFLOWS_ENTRY);
    writeFileSync(path.join(staging, STATE_FILE), state); // last: marks a complete build
    const old = `${dist}.old-${process.pid}`;
    try {
      renameSync(dist, old);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // first build, or another build has it aside
    }
    try {
      renameSync(staging, dist);
    } catch (err) {
      // Another build swapped its dist in first: a whole build too, whose state file says of what.
      if (!existsSync(path.join(dist, STATE_FILE))) throw err;
    }
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return performance.now() - started;
}

/** Rebuilds dist/ when the sources changed since the last build; returns the build time, or undefined when it was fresh. */
export async function ensureBuilt(root = ROOT): Promise<number | undefined> {
  return isFresh(root) ? undefined : build(root);
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const ms = process.argv.includes('--force') ? await build() : await ensureBuilt();
  console.log(ms === undefined ? 'dist/ is up to date' : `built dist/ from src/ in ${(ms / 1000).toFixed(1)} s`);
}
