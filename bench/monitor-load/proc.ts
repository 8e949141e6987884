/** Readings from /proc: memory and CPU of a process, the dev server's pid, and an RSS sampler. */
import { readdirSync, readFileSync } from 'node:fs';

export function procStatus(pid: number): { rss: number; hwm: number } {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: Number.NaN, hwm: Number.NaN };
  }
}

/** User + system CPU seconds of a process (all its threads). */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime in USER_HZ (100)
  } catch {
    return Number.NaN;
  }
}

/** Child pids of a process (all its threads' children). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        for (const p of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (p) out.push(Number(p));
      } catch {
        // thread gone
      }
    }
  } catch {
    // process gone
  }
  return out;
}

/** The Temporal dev server process among the descendants of `root` (`temporal server start-dev`). */
export function devServerPid(root: number): number | undefined {
  const queue = childrenOf(root);
  while (queue.length) {
    const pid = queue.shift()!;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('start-dev')) return pid;
    } catch {
      continue;
    }
    queue.push(...childrenOf(pid));
  }
  return undefined;
}

/** Samples a process's VmRSS every 100 ms; `peak()` since the last `reset()`. */
export class RssSampler {
  private max = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 100);
    this.timer.unref();
  }
  sample(): number {
    const rss = procStatus(this.pid).rss;
    if (rss > this.max) this.max = rss;
    return rss;
  }
  reset(): number {
    this.max = 0;
    return this.sample();
  }
  peak(): number {
    this.sample();
    return this.max;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}
