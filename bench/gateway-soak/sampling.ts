/** Per-interval sampling and statistics: response recorders and a least-squares slope. */
import { INTERVAL_S } from './common.js';

/** Least-squares slope of y over x. */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

/** Latencies (ms) of predict responses, with their arrival time (ms since the load started). */
export class Recorder {
  at: number[] = [];
  ms: number[] = [];
  ok = 0;
  non2xx = 0;
  errors = 0;
  /** Per interval: answered, non-2xx and socket errors/timeouts. */
  byInterval: Array<{ answered: number; non2xx: number; errors: number }> = [];

  constructor(private readonly t0: number, private readonly okStatus: number, private readonly keepLatency: boolean) {}

  private slot(): { answered: number; non2xx: number; errors: number } {
    const i = Math.floor((Date.now() - this.t0) / (INTERVAL_S * 1000));
    while (this.byInterval.length <= i) this.byInterval.push({ answered: 0, non2xx: 0, errors: 0 });
    return this.byInterval[i];
  }

  response(status: number, latencyMs: number): void {
    const s = this.slot();
    s.answered++;
    if (status !== this.okStatus) {
      this.non2xx++;
      s.non2xx++;
      return;
    }
    this.ok++;
    if (this.keepLatency) {
      this.at.push(Date.now() - this.t0);
      this.ms.push(latencyMs);
    }
  }

  error(): void {
    this.errors++;
    this.slot().errors++;
  }

  /** Sorted latencies of responses that arrived in [fromMs, toMs). */
  window(fromMs: number, toMs: number): Float64Array {
    const out: number[] = [];
    for (let i = 0; i < this.at.length; i++) if (this.at[i] >= fromMs && this.at[i] < toMs) out.push(this.ms[i]);
    return Float64Array.from(out).sort();
  }
}
