import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../runtime/logger.js';
import { NonRetryableSinkError, type LakeSink, type LogRow, type LogTable } from './lake-sink.js';

/**
 * Batches logged rows per (table, model) and hands them to the lake sink.
 *
 * Bounds: a batch is written when it reaches `maxRows` (default 1,000) or when its first row is
 * `maxDelayMs` old (default 1 s), whichever comes first; so a crash loses at most one batch.
 * One write per queue is in flight at a time (files stay ordered and few).
 *
 * Failures: a failed write keeps its batch and is retried with exponential backoff (0.5 s → 30 s),
 * each failure counted. Rows keep queueing meanwhile up to `maxPendingRows` (default 100,000);
 * beyond that the oldest queued rows are dropped, counted and logged, so an unreachable lake
 * cannot exhaust memory. A batch the lake refuses outright (NonRetryableSinkError) and anything
 * still unwritten when close() gives up are written as JSON lines to
 * `<dataDir>/serving/dead-letter/`, counted, never silently lost.
 * (`lines` below are row tuples, one per logged row.)
 */
export interface LakeLogOptions {
  maxRows?: number;
  maxDelayMs?: number;
  maxPendingRows?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Attempts per batch during close() before it goes to the dead-letter folder. */
  closeAttempts?: number;
  deadLetterDir: string;
  /** Turns a queued tuple into the row object written to dead-letter files. */
  describe?: (table: LogTable, model: string, row: LogRow) => unknown;
}

export interface LakeLogEvents {
  logged(table: LogTable, model: string, rows: number): void;
  failed(table: LogTable, model: string): void;
  dropped(table: LogTable, model: string, rows: number, where: 'overflow' | 'dead_letter'): void;
}

class Queue {
  lines: LogRow[] = [];
  inFlight: LogRow[] | undefined;
  writing: Promise<void> | undefined;
  timer: NodeJS.Timeout | undefined;
  retryTimer: NodeJS.Timeout | undefined;
  /** When `lines` last went from empty to non-empty: no row in it is older (the time bound's anchor). */
  firstAt = 0;
  consecutiveFailures = 0;
  constructor(
    readonly table: LogTable,
    readonly model: string,
  ) {}
  get pending(): number {
    return this.lines.length + (this.inFlight?.length ?? 0);
  }
}

export class LakeLog {
  private readonly queues = new Map<string, Queue>();
  private readonly maxRows: number;
  private readonly maxDelayMs: number;
  private readonly maxPendingRows: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly closeAttempts: number;
  private closing = false;
  lastError: string | undefined;

  constructor(
    private readonly sink: LakeSink,
    private readonly options: LakeLogOptions,
    private readonly events: LakeLogEvents,
    private readonly log: Logger,
  ) {
    this.maxRows = options.maxRows ?? 1_000;
    this.maxDelayMs = options.maxDelayMs ?? 1_000;
    this.maxPendingRows = options.maxPendingRows ?? 100_000;
    this.retryBaseMs = options.retryBaseMs ?? 500;
    this.retryMaxMs = options.retryMaxMs ?? 30_000;
    this.closeAttempts = options.closeAttempts ?? 3;
  }

  private queue(table: LogTable, model: string): Queue {
    const key = `${table}\u0000${model}`;
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = new Queue(table, model)));
    return q;
  }

  /** Queues one row (a tuple, see lake-sink.ts). */
  append(table: LogTable, model: string, line: LogRow): void {
    const q = this.queue(table, model);
    if (q.lines.length === 0) q.firstAt = Date.now();
    q.lines.push(line);
    if (q.pending > this.maxPendingRows) this.overflow(q);
    if (q.inFlight || q.retryTimer) return;
    if (q.lines.length >= this.maxRows) this.startWrite(q);
    else this.armTimer(q);
  }

  /** Schedules the time-bound write of the rows queued, due when the oldest is maxDelayMs old. */
  private armTimer(q: Queue): void {
    if (q.timer || this.closing || q.lines.length === 0) return;
    const due = Math.max(0, q.firstAt + this.maxDelayMs - Date.now());
    q.timer = setTimeout(() => this.startWrite(q), due).unref();
  }

  pending(table: LogTable, model: string): number {
    return this.queues.get(`${table}\u0000${model}`)?.pending ?? 0;
  }

  /** Healthy unless some queue's last write failed. */
  healthy(): boolean {
    for (const q of this.queues.values()) if (q.consecutiveFailures > 0) return false;
    return true;
  }

  private overflow(q: Queue): void {
    const excess = Math.min(q.pending - this.maxPendingRows, q.lines.length);
    if (excess <= 0) return;
    q.lines.splice(0, excess);
    this.events.dropped(q.table, q.model, excess, 'overflow');
    this.log.error({ table: q.table, model: q.model, rows: excess, maxPendingRows: this.maxPendingRows }, 'lake unreachable and the log queue is full: dropped the oldest rows');
  }

  private startWrite(q: Queue): void {
    if (q.timer) clearTimeout(q.timer);
    q.timer = undefined;
    if (q.inFlight || q.lines.length === 0) return;
    q.inFlight = q.lines.splice(0, this.maxRows);
    this.attempt(q);
  }

  private attempt(q: Queue): void {
    q.retryTimer = undefined;
    const batch = q.inFlight!;
    q.writing = this.sink.write(q.table, q.model, batch).then(
      (rows) => {
        q.inFlight = undefined;
        q.consecutiveFailures = 0;
        this.events.logged(q.table, q.model, rows);
        if (this.closing) return;
        if (q.lines.length >= this.maxRows) this.startWrite(q);
        else this.armTimer(q);
      },
      (err: Error) => {
        q.consecutiveFailures++;
        this.lastError = err.message;
        this.events.failed(q.table, q.model);
        if (err instanceof NonRetryableSinkError) {
          this.log.error({ err, table: q.table, model: q.model, rows: batch.length }, 'lake refused a batch; writing it to the dead-letter folder');
          this.deadLetter(q, batch);
          q.inFlight = undefined;
          if (!this.closing && q.lines.length > 0) this.startWrite(q);
          return;
        }
        const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(q.consecutiveFailures - 1, 16));
        this.log.warn({ err: err.message, table: q.table, model: q.model, rows: batch.length, retryInMs: delay }, 'lake write failed; will retry');
        if (!this.closing) q.retryTimer = setTimeout(() => this.attempt(q), delay).unref();
      },
    );
  }

  private deadLetter(q: Queue, lines: LogRow[]): void {
    if (lines.length === 0) return;
    try {
      mkdirSync(this.options.deadLetterDir, { recursive: true });
      const file = path.join(this.options.deadLetterDir, `${q.table}-${q.model}-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}.jsonl`);
      const describe = this.options.describe ?? ((_t: LogTable, _m: string, row: LogRow) => row);
      writeFileSync(file, `${lines.map((l) => JSON.stringify(describe(q.table, q.model, l))).join('\n')}\n`);
      this.log.error({ file, rows: lines.length, table: q.table, model: q.model }, 'rows written to the dead-letter file');
    } catch (err) {
      this.log.error({ err, rows: lines.length, table: q.table, model: q.model }, 'could not write the dead-letter file; rows lost');
    }
    this.events.dropped(q.table, q.model, lines.length, 'dead_letter');
  }

  /**
   * Writes everything queued: waits for writes in flight, then writes the rest in batches, each
   * batch tried `closeAttempts` times before it goes to the dead-letter folder.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const q of this.queues.values()) {
      if (q.timer) clearTimeout(q.timer);
      q.timer = undefined;
      if (q.retryTimer) clearTimeout(q.retryTimer);
      q.retryTimer = undefined;
    }
    await Promise.all([...this.queues.values()].map((q) => this.drain(q)));
  }

  private async drain(q: Queue): Promise<void> {
    await q.writing?.catch(() => undefined);
    while (q.pending > 0) {
      if (!q.inFlight) q.inFlight = q.lines.splice(0, this.maxRows);
      let done = false;
      for (let attempt = 0; attempt < this.closeAttempts && !done; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (attempt - 1))));
        this.attempt(q);
        await q.writing;
        done = q.inFlight === undefined;
      }
      if (!done) {
        this.deadLetter(q, q.inFlight ?? []);
        q.inFlight = undefined;
      }
    }
  }
}
