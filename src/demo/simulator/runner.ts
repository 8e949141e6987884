import { performance } from 'node:perf_hooks';
import { LatencyHistogram } from '../../serving/histogram.js';
import { driftPhase, type DriftPlan } from './drift.js';
import type { Generator } from './generator.js';

/**
 * Sends generated traffic to a gateway at a set rate with bounded concurrency, and the labels
 * of answered predictions to /feedback once their delay has passed (batched, one feedback request
 * in flight at a time). When the rate cannot be met because `concurrency` requests are already
 * waiting, the due requests are skipped and counted rather than queued without bound.
 * After the send window, it waits for requests in flight and for every pending label to come due
 * (unless aborted), so a run's labels all reach the gateway.
 */
export interface RunOptions {
  gateway: string;
  model: string;
  generator: Generator;
  drift: DriftPlan;
  rate: number;
  durationMs: number;
  labelDelayMs: number;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  progressEveryMs?: number;
  /**
   * A world that disagrees with every answer the given variant serves: its labels say the
   * opposite of its predictions. For watching a canary breach and the automatic rollback.
   */
  contradict?: 'challenger';
}

export interface RunProgress {
  elapsedMs: number;
  durationMs: number;
  sent: number;
  ok: number;
  errors: number;
  skipped: number;
  p99Ms: number;
  labelsSent: number;
  labelsPending: number;
  phase: string;
  draining: boolean;
}

export interface RunSummary {
  model: string;
  gateway: string;
  rate: number;
  durationMs: number;
  elapsedMs: number;
  aborted: boolean;
  sent: number;
  ok: number;
  errors: number;
  errorsByStatus: Record<string, number>;
  skipped: number;
  achievedRate: number;
  latencyMs: { p50: number; p99: number; max: number };
  variants: Record<string, number>;
  labels: { sent: number; matched: number; unmatched: number; failed: number; notSent: number; positiveRate: number };
  /** Served predictions that agree with their label (for labels generated in this run). */
  accuracy: number | null;
  drift: { kind: string; startMs: number };
  lastError?: string;
}

interface PendingLabel {
  requestId: string;
  label: number;
  dueAt: number;
}

/** Waits `ms`, or less if the run is aborted; the abort listener is removed either way (long runs add thousands). */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

export async function runSimulation(options: RunOptions): Promise<RunSummary> {
  const base = options.gateway.replace(/\/+$/, '');
  const predictUrl = `${base}/v1/models/${encodeURIComponent(options.model)}/predict`;
  const feedbackUrl = `${base}/v1/models/${encodeURIComponent(options.model)}/feedback`;
  const concurrency = options.concurrency ?? 64;
  const latency = new LatencyHistogram();
  const labels: PendingLabel[] = [];
  const inflight = new Set<Promise<void>>();
  const s = {
    sent: 0,
    ok: 0,
    errors: 0,
    skipped: 0,
    errorsByStatus: {} as Record<string, number>,
    variants: {} as Record<string, number>,
    labelsSent: 0,
    matched: 0,
    unmatched: 0,
    labelsFailed: 0,
    positives: 0,
    correct: 0,
    maxMs: 0,
    lastError: undefined as string | undefined,
  };
  const start = performance.now();
  const elapsed = () => performance.now() - start;
  let draining = false;

  const fail = (key: string, message: string) => {
    s.errors++;
    s.errorsByStatus[key] = (s.errorsByStatus[key] ?? 0) + 1;
    s.lastError = message;
  };

  const send = async (at: number) => {
    const event = options.generator.sample(at);
    const t0 = performance.now();
    try {
      const res = await fetch(predictUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ entity_id: event.entity_id, features: event.features }),
      });
      const body = (await res.json().catch(() => ({}))) as { request_id?: string; prediction?: number; variant?: string; message?: string };
      const ms = performance.now() - t0;
      if (!res.ok || !body.request_id) return fail(String(res.status), body.message ?? `HTTP ${res.status}`);
      s.ok++;
      latency.record(ms);
      s.maxMs = Math.max(s.maxMs, ms);
      s.variants[body.variant ?? 'unknown'] = (s.variants[body.variant ?? 'unknown'] ?? 0) + 1;
      const label = options.contradict && body.variant === options.contradict && typeof body.prediction === 'number' ? 1 - body.prediction : event.label;
      if (body.prediction === label) s.correct++;
      labels.push({ requestId: body.request_id, label, dueAt: elapsed() + options.labelDelayMs });
    } catch (err) {
      fail('network', (err as Error).message);
    }
  };

  const sendLabels = async (force: boolean) => {
    const now = elapsed();
    let n = 0;
    while (n < labels.length && n < 1_000 && (force || labels[n].dueAt <= now)) n++;
    if (n === 0) return;
    const batch = labels.splice(0, n);
    try {
      const res = await fetch(feedbackUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ labels: batch.map((l) => ({ request_id: l.requestId, label: l.label })) }),
      });
      const body = (await res.json().catch(() => ({}))) as { matched?: number; unmatched?: number; message?: string };
      if (!res.ok) throw new Error(body.message ?? `HTTP ${res.status}`);
      s.labelsSent += batch.length;
      s.matched += body.matched ?? 0;
      s.unmatched += body.unmatched ?? 0;
      for (const l of batch) s.positives += l.label;
    } catch (err) {
      s.labelsFailed += batch.length;
      s.lastError = `feedback: ${(err as Error).message}`;
    }
  };

  const progress = () =>
    options.onProgress?.({
      elapsedMs: elapsed(),
      durationMs: options.durationMs,
      sent: s.sent,
      ok: s.ok,
      errors: s.errors,
      skipped: s.skipped,
      p99Ms: latency.quantile(0.99),
      labelsSent: s.labelsSent,
      labelsPending: labels.length,
      phase: driftPhase(options.drift, Math.min(elapsed(), options.durationMs)),
      draining,
    });

  // The label loop runs beside the send loop; it stops once sending is over and the queue is empty.
  let sending = true;
  const labelLoop = (async () => {
    while (!options.signal?.aborted && (sending || labels.length > 0 || inflight.size > 0)) {
      await sendLabels(false);
      await sleep(labels.length && labels[0].dueAt > elapsed() ? Math.min(250, labels[0].dueAt - elapsed()) : 250, options.signal);
    }
  })();
  const progressTimer = options.onProgress ? setInterval(progress, options.progressEveryMs ?? 500) : undefined;

  try {
    while (!options.signal?.aborted) {
      const now = elapsed();
      if (now >= options.durationMs) break;
      const due = Math.floor((now / 1000) * options.rate) - s.sent - s.skipped;
      for (let i = 0; i < due; i++) {
        if (inflight.size >= concurrency) {
          s.skipped++;
          continue;
        }
        s.sent++;
        const p = send(now);
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
      await sleep(Math.max(1, Math.min(20, 1000 / options.rate)), options.signal);
    }
    draining = true;
    await Promise.allSettled([...inflight]);
    sending = false;
    await labelLoop;
  } finally {
    sending = false;
    if (progressTimer) clearInterval(progressTimer);
  }
  progress();

  const total = elapsed();
  return {
    model: options.model,
    gateway: base,
    rate: options.rate,
    durationMs: options.durationMs,
    elapsedMs: Math.round(total),
    aborted: Boolean(options.signal?.aborted),
    sent: s.sent,
    ok: s.ok,
    errors: s.errors,
    errorsByStatus: s.errorsByStatus,
    skipped: s.skipped,
    achievedRate: Math.round((s.sent / Math.max(1, Math.min(total, options.durationMs))) * 1000 * 100) / 100,
    latencyMs: { p50: round(latency.quantile(0.5)), p99: round(latency.quantile(0.99)), max: round(s.maxMs) },
    variants: s.variants,
    labels: {
      sent: s.labelsSent,
      matched: s.matched,
      unmatched: s.unmatched,
      failed: s.labelsFailed,
      notSent: labels.length,
      positiveRate: s.labelsSent ? round(s.positives / s.labelsSent) : 0,
    },
    accuracy: s.ok ? round(s.correct / s.ok) : null,
    drift: { kind: options.drift.kind, startMs: options.drift.startMs },
    ...(s.lastError ? { lastError: s.lastError } : {}),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** One progress line for a terminal. */
export function formatProgress(p: RunProgress): string {
  const clock = (ms: number) => {
    const secs = Math.floor(ms / 1000);
    return `${String(Math.floor(secs / 60)).padStart(2, '0')}:${String(secs % 60).padStart(2, '0')}`;
  };
  const n = (x: number) => x.toLocaleString('en-US');
  const head = p.draining ? `draining labels (${n(p.labelsPending)} pending)` : `${clock(p.elapsedMs)}/${clock(p.durationMs)}`;
  return `${head}  sent ${n(p.sent)}  ok ${n(p.ok)}  errors ${n(p.errors)}${p.skipped ? `  skipped ${n(p.skipped)}` : ''}  p99 ${p.p99Ms.toFixed(1)}ms  labels ${n(p.labelsSent)}  ${p.phase}`;
}
