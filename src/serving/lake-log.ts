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
 * cannot exhaust memory. Anything still unwritten when close() gives up is written as JSON lines
 * (one row object per line) to `<dataDir>/serving/dead-letter/`, counted, never silently lost.
 *
 * One bad row never costs a batch: a batch the lake refuses outright (NonRetryableSinkError, e.g.
 * a value the writer's rules refuse) is split in halves and each half written on its own, down to
 * single rows; only the rows refused alone go to the dead-letter folder, in a `...-refused-...`
 * file whose lines are `{"reason": <the refusal>, "row": <row object>}`. The rest are written.
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
  /** Where each appended row is journaled before it is queued (see journal.ts). */
  journal?: { append(kind: LogTable, model: string, row: LogRow): number };
}

/**
 * Per-queue append counts at one moment (key: table and model). Rows leave a queue in the order
 * they came (written, refused and dead-lettered from the front; overflow drops the oldest queued),
 * so "queue settled ≥ mark" means every row appended before the mark is out of memory.
 */
export type LakeLogMark = Map<string, number>;

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
  /** Rows ever appended; a row's position is the count before it. */
  appended = 0;
  /** Every row at a position below this has left the queue (written, dead-lettered or dropped). */
  settled = 0;
  /** Positions dropped by overflow ahead of `settled` (behind the batch in flight), skipped when reached. */
  drops: { start: number; count: number }[] = [];
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
    this.options.journal?.append(table, model, line);
    const q = this.queue(table, model);
    if (q.lines.length === 0) q.firstAt = Date.now();
    q.lines.push(line);
    q.appended++;
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

  /** Each queue's append count now, for the journal's retirement check. */
  mark(): LakeLogMark {
    const out: LakeLogMark = new Map();
    for (const [key, q] of this.queues) out.set(key, q.appended);
    return out;
  }

  /** Whether every row appended before `mark` has left the lake log. */
  settledSince(mark: LakeLogMark): boolean {
    for (const [key, appended] of mark) if ((this.queues.get(key)?.settled ?? 0) < appended) return false;
    return true;
  }

  /** `count` rows left the front of the queue; positions already dropped by overflow are skipped over. */
  private settle(q: Queue, count: number): void {
    q.settled += count;
    while (q.drops.length > 0 && q.drops[0].start <= q.settled) {
      const drop = q.drops.shift()!;
      q.settled = Math.max(q.settled, drop.start + drop.count);
    }
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
    q.drops.push({ start: q.appended - q.lines.length, count: excess });
    q.lines.splice(0, excess);
    this.settle(q, 0);
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
    q.writing = this.writeInFlight(q).then(
      () => {
        q.consecutiveFailures = 0;
        if (this.closing) return;
        if (q.lines.length >= this.maxRows) this.startWrite(q);
        else this.armTimer(q);
      },
      (err: Error) => {
        q.consecutiveFailures++;
        this.lastError = err.message;
        this.events.failed(q.table, q.model);
        const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(q.consecutiveFailures - 1, 16));
        this.log.warn({ err: err.message, table: q.table, model: q.model, rows: q.inFlight?.length ?? 0, retryInMs: delay }, 'lake write failed; will retry');
        if (!this.closing) q.retryTimer = setTimeout(() => this.attempt(q), delay).unref();
      },
    );
  }

  /**
   * Writes q.inFlight. A part the lake refuses is split in halves until the refused rows stand
   * alone; those are dead-lettered with the refusal as their reason. On a retryable failure
   * q.inFlight is left holding exactly the rows not yet written, so the retry writes nothing twice.
   */
  private async writeInFlight(q: Queue): Promise<void> {
    const parts: LogRow[][] = [q.inFlight!];
    const refused: { row: LogRow; reason: string }[] = [];
    // Rows done behind a refused one are settled only once its dead-letter file is written.
    let doneAfterRefusal = 0;
    const done = (rows: number) => (refused.length === 0 ? this.settle(q, rows) : (doneAfterRefusal += rows));
    try {
      while (parts.length > 0) {
        const part = parts[0];
        try {
          this.events.logged(q.table, q.model, await this.sink.write(q.table, q.model, part));
          done(part.length);
        } catch (err) {
          if (!(err instanceof NonRetryableSinkError)) throw err;
          this.lastError = err.message;
          this.events.failed(q.table, q.model);
          if (part.length > 1) {
            if (parts.length === 1 && refused.length === 0) {
              this.log.warn({ err: err.message, table: q.table, model: q.model, rows: part.length }, 'lake refused a batch; splitting it to write all but the refused rows');
            }
            const mid = part.length >> 1;
            parts.splice(0, 1, part.slice(0, mid), part.slice(mid));
            continue;
          }
          refused.push({ row: part[0], reason: err.message });
          doneAfterRefusal++;
        }
        parts.shift();
      }
      q.inFlight = undefined;
    } catch (err) {
      q.inFlight = parts.flat();
      throw err;
    } finally {
      this.deadLetterRefused(q, refused);
      if (doneAfterRefusal > 0) this.settle(q, doneAfterRefusal);
    }
  }

  private deadLetter(q: Queue, lines: LogRow[]): void {
    if (lines.length === 0) return;
    const describe = this.options.describe ?? ((_t: LogTable, _m: string, row: LogRow) => row);
    this.writeDeadLetter(q, '', lines.map((l) => describe(q.table, q.model, l)));
  }

  /** Rows the lake refused on their own, each with the refusal. */
  private deadLetterRefused(q: Queue, refused: { row: LogRow; reason: string }[]): void {
    if (refused.length === 0) return;
    const describe = this.options.describe ?? ((_t: LogTable, _m: string, row: LogRow) => row);
    for (const r of refused) this.log.error({ table: q.table, model: q.model, reason: r.reason }, 'lake refused a row; dead-lettered alone');
    this.writeDeadLetter(q, 'refused-', refused.map((r) => ({ reason: r.reason, row: describe(q.table, q.model, r.row) })));
  }

  private writeDeadLetter(q: Queue, kind: string, lines: unknown[]): void {
    try {
      mkdirSync(this.options.deadLetterDir, { recursive: true });
      const file = path.join(this.options.deadLetterDir, `${q.table}-${q.model}-${kind}${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}.jsonl`);
      writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
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
        const rows = q.inFlight ?? [];
        this.deadLetter(q, rows);
        q.inFlight = undefined;
        this.settle(q, rows.length);
      }
    }
  }
}
