import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread from a sibling module, whether this code runs as TypeScript (tsx, in
 * development and tests) or as compiled JavaScript.
 *
 * Under tsx a `.ts` worker cannot simply be given `execArgv: ['--import', 'tsx']`: on Node 20 the
 * worker resolves its entry before the loader hooks are active and fails with
 * ERR_UNKNOWN_FILE_EXTENSION. So the worker starts from a tiny evaluated script that registers
 * tsx through its public API (`tsx/esm/api`) and then imports the entry. This works the same under
 * `node --import tsx` and `npx tsx`; compiled `.js` entries start directly.
 */
export function spawnModuleWorker(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true, execArgv: [] });
}

/** The sibling module `name` (without extension) next to `base`, with base's extension. */
export function siblingModule(base: string, name: string): URL {
  const ext = base.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, base);
}
