// Entry of the PostgreSQL bridge's worker thread when the code runs as TypeScript (tsx): registers
// tsx's loader, then loads worker.ts. Compiled code (dist/) starts worker.js directly. On Node 20 a
// worker cannot be given `--import tsx` (it resolves its entry before the hooks are active), hence
// this file; see src/runtime/worker-thread.ts.
const { register } = await import('tsx/esm/api');
register();
await import(new URL('./worker.ts', import.meta.url).href);
