/** Child processes: spawning and stopping them, waiting for the worker's pollers, and the dev server child mode. */
import { closeSync, openSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Client } from '@temporalio/client';
import { startDevServer } from '../../src/runtime/dev-server.js';
import { installTemporalRuntime } from '../../src/runtime/temporal-runtime.js';
import { args, logger, ROOT, sleep } from './common.js';
import { tail } from './logs.js';

export interface Child {
  child: ChildProcess;
  exited: Promise<number | null>;
}

export function spawnChild(argv: string[], env: NodeJS.ProcessEnv, logFile: string, ipc = false): Child {
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...process.execArgv, ...argv], { cwd: ROOT, env, stdio: ['ignore', fd, fd, ...(ipc ? (['ipc'] as const) : [])] });
  closeSync(fd);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited };
}

export async function stopChild(c: Child | undefined, graceMs = 30_000): Promise<void> {
  if (!c || c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.kill('SIGTERM');
  const killed = await Promise.race([c.exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (killed) {
    c.child.kill('SIGKILL');
    await c.exited;
  }
}

/** Waits until the worker polls both the workflow and the activity side of the control queue. */
export async function waitForPollers(client: Client, queue: string, worker: Child, logFile: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (worker.child.exitCode !== null) throw new Error(`the worker exited (code ${worker.child.exitCode}):\n${tail(logFile)}`);
    // TaskQueueType: 1 = workflow, 2 = activity.
    const counts = await Promise.all(
      [1, 2].map(async (taskQueueType) => (await client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: queue }, taskQueueType })).pollers?.length ?? 0),
    );
    if (counts.every((n) => n > 0)) return;
    await sleep(250);
  }
  throw new Error(`the worker did not start polling ${queue} within 180 s:\n${tail(logFile)}`);
}

// ------------------------------------------------------------------ the dev server (child mode)
/**
 * startDevServer in a child process of its own: the SDK starts the server with this process's
 * stdout/stderr, so the server's log lines go to the child's log file instead of the table.
 */
export async function devServerChild(): Promise<void> {
  installTemporalRuntime({ logger, metricsPort: 0, coreLogLevel: 'ERROR' });
  // --in-memory-server (diagnosis): the server's SQLite in memory instead of the file `retrain dev` uses.
  const server = await startDevServer({ dataDir: process.env.RETRAIN_DATA_DIR!, port: 0, persistent: !args.includes('--in-memory-server') });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void server.stop().finally(() => process.exit(0));
  };
  process.on('message', (m) => m === 'stop' && stop());
  process.on('SIGTERM', stop);
  process.on('disconnect', stop); // the bench died: never leave a server behind
  process.send!({ address: server.address, namespace: server.namespace, dbFile: server.dbFile, tool: server.tool.description });
}
