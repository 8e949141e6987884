// Entry of the MLflow bridge's worker thread when the code runs as TypeScript (tsx): registers
// tsx's loader, then loads mlflow-worker.ts (as the PostgreSQL bridge's worker-boot.mjs does).
const { register } = await import('tsx/esm/api');
register();
await import(new URL('./mlflow-worker.ts', import.meta.url).href);
