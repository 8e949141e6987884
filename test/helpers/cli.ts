import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const RETRAIN_BIN = path.resolve('bin/retrain.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `retrain` command in a child process; `bin` runs another entry (a copy of the bin,
 * dist/cli/main.js) and `nodeArgs` go to node before it.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, options: { cwd?: string; bin?: string; nodeArgs?: string[] } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.bin ?? RETRAIN_BIN, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, NODE_OPTIONS: '', RETRAIN_LOG_PRETTY: '0', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts a long-running `retrain` process (worker, dev) and collects its output. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [RETRAIN_BIN, ...args], { env: { ...process.env, NODE_OPTIONS: '', RETRAIN_LOG_PRETTY: '0', ...env } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, output: () => out, exited };
}
