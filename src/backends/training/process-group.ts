import type { ChildProcess } from 'node:child_process';

/**
 * Helpers for trainer child processes: they are spawned `detached`, which makes each one the
 * leader of a new process group, so signalling the negative pid reaches everything it started
 * (a shell, Python's multiprocessing workers, a container CLI) and nothing outlives a cancel.
 */

/** Sends `signal` to the process group led by `pid`; false when nothing was left to signal. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** True while any process of the group led by `pid` is alive. */
export function groupAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * SIGTERM to the group, then SIGKILL after `graceMs` if anything is still alive: trainers get a
 * moment to flush, but cannot ignore the stop.
 */
export async function terminateGroup(child: ChildProcess, graceMs: number): Promise<void> {
  const pid = child.pid;
  if (!signalGroup(pid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pid)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  signalGroup(pid, 'SIGKILL');
}

/** Splits a byte stream into lines (the last partial line is flushed at end). */
export class LineSplitter {
  private buffered = '';
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    this.buffered += chunk.toString();
    let at: number;
    while ((at = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, at).replace(/\r$/, '');
      this.buffered = this.buffered.slice(at + 1);
      this.onLine(line);
    }
    // A trainer printing megabytes without a newline must not grow memory without bound.
    if (this.buffered.length > 64 * 1024) {
      this.onLine(this.buffered);
      this.buffered = '';
    }
  }

  end(): void {
    if (this.buffered.length > 0) this.onLine(this.buffered);
    this.buffered = '';
  }
}

/** The last `size` lines seen. */
export class TailBuffer {
  private readonly lines: string[] = [];
  constructor(private readonly size = 40) {}

  push(line: string): void {
    this.lines.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
    if (this.lines.length > this.size) this.lines.shift();
  }

  get(): string[] {
    return [...this.lines];
  }
}
