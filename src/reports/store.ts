/**
 * Where reports live on disk, under `<dataDir>/reports`:
 *
 *   <model>/checks/<timestamp>.html    one per monitor check (pruned to the newest N)
 *   <model>/latest-check.html          copy of the newest check report
 *   <model>/runs/<workflowId>[.<runId>].html   one per pipeline run
 *   <model>/latest-run.html            copy of the newest pipeline report written
 *   <model>/history.jsonl              one CheckHistoryPoint per line, for the over-time charts
 *
 * Every HTML write is atomic (temp file in the same directory, then rename), so a reader or an
 * HTTP server never sees half a report. Writing the same check twice (an activity retry) rewrites
 * the same file.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { appendFile, mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isHistoryPoint, type CheckHistoryPoint } from './history.js';

export class ReportPathError extends Error {
  constructor(what: string, value: string, why: string) {
    super(`invalid ${what} ${JSON.stringify(value)} for a report path: ${why}`);
    this.name = 'ReportPathError';
  }
}

/** A name that becomes one path segment: no separators, no dot-dot, nothing hidden, nothing odd. */
function checkSegment(what: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ReportPathError(what, String(value), 'it is empty');
  if (value.length > 200) throw new ReportPathError(what, value, 'it is longer than 200 characters');
  if (/[/\\]/.test(value)) throw new ReportPathError(what, value, 'it contains a path separator');
  if (value.includes('..')) throw new ReportPathError(what, value, 'it contains ".."');
  if (value.startsWith('.')) throw new ReportPathError(what, value, 'it starts with "."');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f:*?"<>|]/.test(value)) throw new ReportPathError(what, value, 'it contains a control or reserved character');
  return value;
}

/** An ISO time as a sortable, filesystem-safe file stem: 2024-05-01T12-00-00-000Z. */
export function fileTimestamp(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new ReportPathError('check time', iso, 'it is not a date');
  return new Date(t).toISOString().replace(/[:.]/g, '-');
}

const CHECK_FILE = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.html$/;

/** Writes a file atomically: a temp file next to it, then a rename over it. */
export async function writeAtomic(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, content, { encoding: 'utf8', mode: 0o644 });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export interface ReportStoreOptions {
  /** history.jsonl is compacted to its newest `historyKeep` lines once it grows past this size (default 8 MiB). */
  maxHistoryBytes?: number;
  /** Lines kept when compacting history (default 20,000: over half a year of 15-minute checks). */
  historyKeep?: number;
}

export class ReportStore {
  /** Absolute `<dataDir>/reports`. */
  readonly root: string;
  private readonly maxHistoryBytes: number;
  private readonly historyKeep: number;

  constructor(dataDir: string, options: ReportStoreOptions = {}) {
    this.root = path.resolve(dataDir, 'reports');
    this.maxHistoryBytes = options.maxHistoryBytes ?? 8 * 1024 * 1024;
    this.historyKeep = options.historyKeep ?? 20_000;
  }

  /** Absolute `<root>/<model>`; throws ReportPathError for a name that could escape the folder. */
  modelDir(model: string): string {
    return path.join(this.root, checkSegment('model name', model));
  }

  /** Absolute path the check report of `checkedAt` is (or would be) written to. */
  checkPath(model: string, checkedAt: string): string {
    return path.join(this.modelDir(model), 'checks', `${fileTimestamp(checkedAt)}.html`);
  }

  /**
   * Writes one check report and refreshes `<model>/latest-check.html` unless a newer check is
   * already there (a late retry never replaces a newer report). Returns the absolute path.
   */
  async writeCheck(model: string, checkedAt: string, html: string): Promise<string> {
    const file = this.checkPath(model, checkedAt);
    await writeAtomic(file, html);
    const newest = (await this.listChecks(model))[0];
    if (newest === undefined || newest <= path.basename(file)) {
      await writeAtomic(path.join(this.modelDir(model), 'latest-check.html'), html);
    }
    return file;
  }

  /**
   * Writes one pipeline report to `<model>/runs/<workflowId>.html`, or `<workflowId>.<runId>.html`
   * when runId is given (pipeline workflow ids are `retrain-<model>` for every run, so pass the
   * runId to keep one file per run), and copies it to `<model>/latest-run.html`.
   */
  async writePipeline(model: string, workflowId: string, html: string, runId?: string): Promise<string> {
    const stem = checkSegment('workflow id', workflowId) + (runId === undefined ? '' : `.${checkSegment('run id', runId)}`);
    const file = path.join(this.modelDir(model), 'runs', `${stem}.html`);
    await writeAtomic(file, html);
    await writeAtomic(path.join(this.modelDir(model), 'latest-run.html'), html);
    return file;
  }

  /** Check report file names, newest first. */
  private async listChecks(model: string): Promise<string[]> {
    try {
      const names = await readdir(path.join(this.modelDir(model), 'checks'));
      return names.filter((n) => CHECK_FILE.test(n)).sort().reverse();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Deletes all but the newest `keep` check reports; returns how many were deleted. */
  async pruneChecks(model: string, keep = 500): Promise<number> {
    if (!Number.isInteger(keep) || keep < 0) throw new RangeError(`keep must be a whole number >= 0, got ${keep}`);
    const dir = path.join(this.modelDir(model), 'checks');
    const old = (await this.listChecks(model)).slice(keep);
    for (const name of old) await rm(path.join(dir, name), { force: true });
    return old.length;
  }

  private historyFile(model: string): string {
    return path.join(this.modelDir(model), 'history.jsonl');
  }

  /**
   * Appends one point to `<model>/history.jsonl`. A torn last line (a crash mid-append) is
   * terminated first so the new point starts on its own line; past maxHistoryBytes the file is
   * rewritten with its newest historyKeep points.
   */
  async appendHistory(model: string, point: CheckHistoryPoint): Promise<void> {
    if (!isHistoryPoint(point)) throw new TypeError('appendHistory: expected a CheckHistoryPoint');
    const file = this.historyFile(model);
    await mkdir(path.dirname(file), { recursive: true });
    let size = 0;
    let lead = '';
    try {
      const fh = await open(file, constants.O_RDONLY);
      try {
        size = (await fh.stat()).size;
        if (size > 0) {
          const last = Buffer.alloc(1);
          await fh.read(last, 0, 1, size - 1);
          if (last[0] !== 0x0a) lead = '\n';
        }
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const line = `${lead}${JSON.stringify(point)}\n`;
    await appendFile(file, line, 'utf8');
    if (size + line.length > this.maxHistoryBytes) {
      const kept = await this.readHistory(model, this.historyKeep);
      await writeAtomic(file, kept.map((p) => JSON.stringify(p)).join('\n') + (kept.length > 0 ? '\n' : ''));
    }
  }

  /**
   * The newest `limit` history points, oldest first. Reads only the tail of the file; lines that
   * are not valid points (a torn last line, a corrupt line) are skipped.
   */
  async readHistory(model: string, limit = 500): Promise<CheckHistoryPoint[]> {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a whole number >= 0, got ${limit}`);
    if (limit === 0) return [];
    const file = this.historyFile(model);
    let fh;
    try {
      fh = await open(file, constants.O_RDONLY);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    try {
      const size = (await fh.stat()).size;
      let start = size;
      let chunks: Buffer[] = [];
      let newlines = 0;
      const step = 64 * 1024;
      // Read backwards until the tail holds limit + 1 line breaks (a partial first line is dropped).
      while (start > 0 && newlines <= limit + 1) {
        const from = Math.max(0, start - step);
        const buf = Buffer.alloc(start - from);
        await fh.read(buf, 0, buf.length, from);
        for (const b of buf) if (b === 0x0a) newlines++;
        chunks = [buf, ...chunks];
        start = from;
      }
      const lines = Buffer.concat(chunks).toString('utf8').split('\n');
      if (start > 0) lines.shift();
      const points: CheckHistoryPoint[] = [];
      for (const line of lines) {
        if (line.trim() === '') continue;
        try {
          const v: unknown = JSON.parse(line);
          if (isHistoryPoint(v)) points.push(v);
        } catch {
          // a torn or corrupt line: skip it
        }
      }
      return points.slice(-limit);
    } finally {
      await fh.close();
    }
  }

  /**
   * The path of a report under the reports root, URL-encoded per segment, e.g.
   * `churn/checks/2024-05-01T12-00-00-000Z.html`: serve it at `/reports/<relative>`.
   */
  relativeUrl(absPath: string): string {
    const rel = path.relative(this.root, path.resolve(absPath));
    if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
      throw new ReportPathError('report path', absPath, `it is not under ${this.root}`);
    }
    return rel.split(path.sep).map(encodeURIComponent).join('/');
  }

  /** Whether a report file exists (e.g. before linking to it). */
  async exists(absPath: string): Promise<boolean> {
    try {
      return (await stat(absPath)).isFile();
    } catch {
      return false;
    }
  }
}
