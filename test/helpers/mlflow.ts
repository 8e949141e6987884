/**
 * A real MLflow tracking server for the tests: `mlflow server` from .tools/mlflow (installed by
 * `npm run tools:install`, or here on demand; a failed install fails the test naming what was
 * tried), with a SQLite backend store and an artifact directory in a temporary directory, on a free
 * loopback port. Ready when its /health answers (polled; the server takes 10-100 s to import on a
 * loaded 2-core machine).
 *
 * One server per process: `startMlflow()` starts it on first use; it stops (its process group: the
 * CLI runs uvicorn as a child) and its directory is removed by `stopMlflow()` or when the process
 * exits; with RETRAIN_TEST_MLFLOW_URI set, that server is used instead. Callers keep their state
 * apart with a registered-model prefix per registry (MlflowRegistry's modelPrefix), so test files
 * and suites never share models.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { installMlflow } from '../../scripts/mlflow.js';
import { freePort } from './free-port.js';
import { eventually } from './poll.js';

interface Server {
  url: string;
  child: ChildProcess;
  dir: string;
}

let server: Promise<Server> | undefined;

/** Starts the per-process server (idempotent); returns its tracking URI (http://127.0.0.1:port). */
export async function startMlflow(): Promise<string> {
  // A server the developer already runs (saves its start, 10-45 s here); never stopped by the tests.
  if (process.env.RETRAIN_TEST_MLFLOW_URI) return process.env.RETRAIN_TEST_MLFLOW_URI.replace(/\/+$/, '');
  server ??= launch();
  return (await server).url;
}

async function launch(): Promise<Server> {
  const installed = installMlflow({ quiet: true });
  if (!installed.ok) throw new Error(`MLflow is not installed and installing it failed: ${installed.message}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'retrain-mlflow-'));
  const port = await freePort();
  const log = path.join(dir, 'server.log');
  const out = openSync(log, 'a');
  const started = Date.now();
  const child = spawn(
    installed.bin,
    ['server', '--backend-store-uri', `sqlite:///${path.join(dir, 'mlflow.db')}`, '--artifacts-destination', path.join(dir, 'artifacts'), '--host', '127.0.0.1', '--port', String(port), '--workers', '1'],
    // No job runner (its consumers are three more Python processes the registry never uses).
    { cwd: dir, detached: true, stdio: ['ignore', out, out], env: { ...process.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' } },
  );
  child.unref(); // the server must not keep a finished test process alive; 'exit' below stops it
  const url = `http://127.0.0.1:${port}`;
  process.once('exit', () => stopSync({ url, child, dir }));
  // A test file the runner stops (a timeout: SIGTERM) runs no 'exit' handlers: stop the server
  // first, then die of the same signal as before.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stopSync({ url, child, dir });
      process.kill(process.pid, signal);
    });
  }
  const tail = () => readFileSync(log, 'utf8').split('\n').filter((l) => !/Warning|from starlette/.test(l)).slice(-10).join('\n');
  await eventually(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`mlflow server exited (${child.exitCode ?? child.signalCode}) before it answered:\n${tail()}`);
      const res = await mlflowHttp(`${url}/health`).catch(() => undefined);
      return res?.ok ? true : undefined;
    },
    `mlflow server on ${url} to answer /health (log ${log})`,
    240_000,
    200,
  ).catch((err) => {
    stopSync({ url, child, dir });
    throw err;
  });
  if (process.env.RETRAIN_TEST_VERBOSE) console.log(`mlflow server ready in ${((Date.now() - started) / 1000).toFixed(1)} s on ${url}`);
  return { url, child, dir };
}

function stopSync(s: Server): void {
  if (s.child.exitCode === null && s.child.signalCode === null && s.child.pid) {
    try {
      process.kill(-s.child.pid, 'SIGKILL'); // our own child's process group: the CLI and its uvicorn
    } catch {
      // already gone
    }
  }
  rmSync(s.dir, { recursive: true, force: true });
}

/** Stops the server this process started and removes its directory. */
export async function stopMlflow(): Promise<void> {
  const s = await server?.catch(() => undefined);
  server = undefined;
  if (!s) return;
  s.child.ref(); // keep the process alive until the server is gone
  const exited = s.child.exitCode === null && s.child.signalCode === null ? new Promise((r) => s.child.once('exit', r)) : Promise.resolve();
  stopSync(s);
  await exited;
}

let counter = 0;
/** A registered-model prefix no other registry of this run uses. */
export function mlflowPrefix(tag = 't'): string {
  return `${tag}-${process.pid}-${++counter}-`;
}

/**
 * One HTTP request on a connection of its own, for tests talking to MLflow as another tool would.
 * Not fetch: its pooled keep-alive connections sit idle while the registry's synchronous calls block
 * this thread, the server closes them meanwhile (uvicorn: after 5 s), and the next request on one
 * fails with "other side closed".
 */
export function mlflowHttp(url: string, init: { method?: string; body?: string | Buffer; contentType?: string } = {}): Promise<{ ok: boolean; status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = init.body === undefined ? {} : { 'content-type': init.contentType ?? 'application/json', 'content-length': String(Buffer.byteLength(init.body)) };
    const req = request(url, { method: init.method ?? 'GET', agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ ok: (res.statusCode ?? 0) < 300, status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}
