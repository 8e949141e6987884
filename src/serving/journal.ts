import { randomBytes } from 'node:crypto';
import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from '../runtime/logger.js';
import type { LogRow, LogTable } from './lake-sink.js';

/**
 * The gateway's write-ahead journal: every row handed to the lake log (predictions, shadow rows,
 * labels, and the serving_errors rows of scoring failures) is appended here and written to the
 * file with one write() per request, before the request is answered. A process killed with
 * `kill -9` loses nothing the page cache holds; fdatasync runs every `fsyncMs` (0: after every
 * write) for power loss.
 *
 * Layout: `<dataDir>/serving/journal/gw-<host>-<pid>-<random>/<segment>.jnl`, one directory per
 * gateway process, so replicas on one data dir never share a file. The owner is in the name: a
 * directory whose process is gone (same host, pid not running, or our own pid with another id) is
 * claimed by renaming it to a name of our own (atomic: of two starting replicas one rename wins),
 * then replayed and deleted.
 *
 * Framing: one record per line, `<crc32 as 8 hex digits> <JSON [seq, kind, model, row]>\n`. JSON
 * never holds a raw newline, so a torn last record (a kill mid-write) is a line without its
 * newline or with a bad checksum, and is skipped on replay along with any corrupt line.
 *
 * Retirement: segments rotate every `segmentMs` or `segmentBytes`. A sealed segment is deleted once
 * `canRetire(seal)` says every row it holds has left the lake log (written or dead-lettered) and
 * the live counts covering its records are persisted (see gateway.ts).
 */
/** A record's kind is the lake log table its row goes to. */
export type JournalKind = LogTable;

export interface JournalRecord {
  seq: number;
  kind: JournalKind;
  model: string;
  row: LogRow;
}

export interface JournalOptions {
  /** `<dataDir>/serving/journal`. */
  root: string;
  /** fdatasync interval; 0 = after every write. */
  fsyncMs: number;
  segmentBytes?: number;
  segmentMs?: number;
  log: Logger;
}

/** What the owner of a sealed segment needs to decide whether it may go. */
export interface SealedSegment<Mark> {
  file: string;
  /** Highest seq in the segment. */
  lastSeq: number;
  /** What the journal's user recorded at seal time (the lake log's per-queue append counts). */
  mark: Mark;
}

export class Journal<Mark = unknown> {
  readonly instanceId: string;
  readonly dir: string;
  private fd = -1;
  private segmentFile = '';
  private segmentNumber = 0;
  private segmentOpenedAt = 0;
  private segmentBytesWritten = 0;
  private pending: string[] = [];
  private seq = 0;
  private dirty = false;
  private fsyncing = false;
  private readonly sealed: SealedSegment<Mark>[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly segmentBytes: number;
  private readonly segmentMs: number;
  private closed = false;

  constructor(
    private readonly options: JournalOptions,
    /** Called at each rotation: what the retirement check compares against later. */
    private readonly markNow: () => Mark,
    /** Whether a sealed segment's rows are all safely elsewhere. */
    private readonly canRetire: (segment: SealedSegment<Mark>) => boolean,
  ) {
    this.instanceId = newInstanceId();
    this.dir = path.join(options.root, `gw-${this.instanceId}`);
    this.segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.segmentMs = options.segmentMs ?? 5_000;
    mkdirSync(this.dir, { recursive: true });
    this.openSegment();
    if (options.fsyncMs > 0) this.timers.push(setInterval(() => this.fsyncInBackground(), options.fsyncMs).unref());
    this.timers.push(setInterval(() => this.maintain(), Math.min(1_000, this.segmentMs)).unref());
  }

  /** The seq of the last record appended (persisted live counts say up to which record they count). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Queues a record for the next flush(); returns its seq. ~1 µs: a JSON.stringify and a crc32. */
  append(kind: JournalKind, model: string, row: LogRow): number {
    const seq = ++this.seq;
    const json = JSON.stringify([seq, kind, model, row]);
    this.pending.push(`${hex8(crc32(json))} ${json}\n`);
    return seq;
  }

  /** Writes the queued records with one write(): call before answering the request that made them. */
  flush(): void {
    if (this.pending.length === 0 || this.closed) return;
    const text = this.pending.length === 1 ? this.pending[0] : this.pending.join('');
    this.pending = [];
    const buffer = Buffer.from(text, 'utf8');
    let offset = 0;
    while (offset < buffer.length) offset += writeSync(this.fd, buffer, offset);
    this.segmentBytesWritten += buffer.length;
    if (this.options.fsyncMs === 0) fdatasyncSync(this.fd);
    else this.dirty = true;
    if (this.segmentBytesWritten >= this.segmentBytes) this.rotate();
  }

  private openSegment(): void {
    this.segmentNumber++;
    this.segmentFile = path.join(this.dir, `${String(this.segmentNumber).padStart(10, '0')}.jnl`);
    this.fd = openSync(this.segmentFile, 'a');
    this.segmentOpenedAt = Date.now();
    this.segmentBytesWritten = 0;
  }

  /** Seals the current segment (fsynced: retirement must never outrun durability) and opens the next. */
  private rotate(): void {
    if (this.segmentBytesWritten === 0) {
      this.segmentOpenedAt = Date.now();
      return;
    }
    fdatasyncSync(this.fd);
    closeSync(this.fd);
    this.sealed.push({ file: this.segmentFile, lastSeq: this.seq, mark: this.markNow() });
    this.openSegment();
  }

  /** Rotation by age and deletion of retirable sealed segments, on a timer. */
  maintain(): void {
    if (this.closed) return;
    this.flush();
    if (Date.now() - this.segmentOpenedAt >= this.segmentMs) this.rotate();
    this.retireSealed();
  }

  private retireSealed(): void {
    for (let i = 0; i < this.sealed.length; ) {
      const s = this.sealed[i];
      if (!this.canRetire(s)) {
        i++;
        continue;
      }
      rmSync(s.file, { force: true });
      this.sealed.splice(i, 1);
    }
  }

  /** Segments kept (sealed and current): for tests and metrics. */
  segmentCount(): number {
    return this.sealed.length + 1;
  }

  private fsyncInBackground(): void {
    if (!this.dirty || this.fsyncing || this.closed) return;
    this.dirty = false;
    this.fsyncing = true;
    const fd = this.fd;
    fdatasync(fd, (err) => {
      this.fsyncing = false;
      if (err && !this.closed && fd === this.fd) this.options.log.warn({ err: err.message }, 'journal fdatasync failed');
    });
  }

  /**
   * Stops the journal. With `remove` (every row reached the lake or the dead-letter folder, and
   * the live counts are persisted) the directory is deleted; otherwise it stays for the next start.
   */
  close(remove: boolean): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    try {
      fdatasyncSync(this.fd);
    } catch {
      // closing anyway
    }
    closeSync(this.fd);
    if (remove) rmSync(this.dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ instances and claims

/** `<host>-<pid>-<random>`: unique per process, and says which process on which host owns it. */
function newInstanceId(): string {
  return `${instanceHost()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export function instanceHost(): string {
  return hostname().replace(/[^A-Za-z0-9.]/g, '_') || 'host';
}

/** Parses `gw-<host>-<pid>-<random>`; undefined for anything else. */
export function parseInstanceDir(name: string): { host: string; pid: number; id: string } | undefined {
  const m = /^gw-(.+)-(\d+)-([0-9a-f]{8})$/.exec(name);
  return m ? { host: m[1], pid: Number(m[2]), id: name.slice(3) } : undefined;
}

/**
 * Whether the process that owns an instance id is gone: same host and its pid is not running, or
 * its pid is ours (a restarted container reuses pid 1) while the id is not. Another host's
 * instances are never judged: they are replayed by a gateway started on that host.
 */
export function instanceIsDead(id: string, ownId: string): boolean {
  const parsed = parseInstanceDir(`gw-${id}`);
  if (!parsed || parsed.host !== instanceHost() || id === ownId) return false;
  if (parsed.pid === process.pid) return true;
  try {
    process.kill(parsed.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Renames every journal directory of a dead instance to a name of ours and returns the claimed
 * directories with the instance they came from. A rename that fails (another replica claimed it
 * first) is skipped.
 */
export function claimOrphanJournals(root: string, ownId: string): { dir: string; fromInstance: string }[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const claimed: { dir: string; fromInstance: string }[] = [];
  for (const name of names) {
    const parsed = parseInstanceDir(name);
    if (!parsed || !instanceIsDead(parsed.id, ownId)) continue;
    const target = path.join(root, `claim-${ownId}-${randomBytes(4).toString('hex')}-from-${parsed.id}`);
    try {
      renameSync(path.join(root, name), target);
      claimed.push({ dir: target, fromInstance: parsed.id });
    } catch {
      // claimed by another replica
    }
  }
  // Claims of a process that died while replaying: `claim-<owner>-<rand>-from-<original>`.
  for (const name of names) {
    const m = /^claim-(.+-\d+-[0-9a-f]{8})-[0-9a-f]{8}-from-(.+)$/.exec(name);
    if (!m || !instanceIsDead(m[1], ownId)) continue;
    const target = path.join(root, `claim-${ownId}-${randomBytes(4).toString('hex')}-from-${m[2]}`);
    try {
      renameSync(path.join(root, name), target);
      claimed.push({ dir: target, fromInstance: m[2] });
    } catch {
      // claimed by another replica
    }
  }
  return claimed;
}

// ------------------------------------------------------------------ reading

export interface JournalContents {
  records: JournalRecord[];
  /** Lines skipped: a bad checksum or unparsable JSON (a torn write, or corruption). */
  corrupt: number;
  /** Bytes after the last newline of a segment: a record torn by the kill. */
  tornBytes: number;
}

/** Parses one segment's text; a torn tail and corrupt lines are counted and skipped. */
export function parseSegment(text: string): JournalContents {
  const records: JournalRecord[] = [];
  let corrupt = 0;
  const end = text.lastIndexOf('\n') + 1;
  const tornBytes = Buffer.byteLength(text.slice(end));
  let start = 0;
  while (start < end) {
    const nl = text.indexOf('\n', start);
    const line = text.slice(start, nl);
    start = nl + 1;
    const record = parseLine(line);
    if (record) records.push(record);
    else if (line.length > 0) corrupt++;
  }
  return { records, corrupt, tornBytes };
}

function parseLine(line: string): JournalRecord | undefined {
  if (line.length < 10 || line.charCodeAt(8) !== 32) return undefined;
  const json = line.slice(9);
  if (hex8(crc32(json)) !== line.slice(0, 8)) return undefined;
  try {
    const [seq, kind, model, row] = JSON.parse(json) as [number, JournalKind, string, LogRow];
    return { seq, kind, model, row };
  } catch {
    return undefined;
  }
}

/** Every record of a journal directory, segments in order. */
export function readJournalDir(dir: string): JournalContents {
  const out: JournalContents = { records: [], corrupt: 0, tornBytes: 0 };
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.jnl')).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    const part = parseSegment(readFileSync(path.join(dir, name), 'utf8'));
    for (const r of part.records) out.records.push(r);
    out.corrupt += part.corrupt;
    out.tornBytes += part.tornBytes;
  }
  return out;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
