import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ModelSpec } from '../../../config/schema.js';
import { logger } from '../../../runtime/logger.js';
import { DataInputError, type LakeKind, type QuarantinedFile } from '../types.js';
import { lakeColumns } from './columns.js';
import { sql } from './duck.js';
import type { LakeFile, LakeLayout } from './layout.js';

/**
 * Keeps bad files out of every query. Before a read, each file's Parquet footer is checked against
 * the table's canonical columns (batched in one parquet_schema query); a file that differs, or
 * whose footer cannot be read, is moved to quarantine/ with a .reason.json beside it. A file
 * whose pages are damaged only shows up when read, so a failed query probes its files one by one,
 * quarantines the culprits and runs again. Lake files are immutable, so a file that passed once
 * (same size and mtime) is not checked again by this process.
 */

export interface FileSet {
  kind: LakeKind;
  files: LakeFile[];
}

export interface Guarded<T> {
  value: T;
  /** The file sets actually read, in the order given. */
  sets: FileSet[];
  quarantined: QuarantinedFile[];
}

const MAX_ATTEMPTS = 4;

export class FileGuard {
  private readonly verified = new Map<string, string>();

  constructor(private readonly layout: LakeLayout) {}

  /**
   * Runs `read` over the valid files of each set. Files failing the schema check beforehand, or
   * failing a probe after `read` threw, are quarantined and `read` runs again without them.
   */
  async run<T>(connection: DuckDBConnection, spec: ModelSpec, sets: FileSet[], read: (sets: FileSet[]) => Promise<T>): Promise<Guarded<T>> {
    const quarantined: QuarantinedFile[] = [];
    let current: FileSet[] = [];
    for (const set of sets) current.push({ kind: set.kind, files: await this.check(connection, spec, set.kind, set.files, quarantined) });
    for (let attempt = 1; ; attempt++) {
      try {
        return { value: await read(current), sets: current, quarantined };
      } catch (err) {
        // Refusals of the input itself are not file damage; probing every file would be wasted work.
        if (attempt >= MAX_ATTEMPTS || err instanceof DataInputError) throw err;
        const before = current.reduce((n, s) => n + s.files.length, 0);
        const next: FileSet[] = [];
        for (const set of current) next.push({ kind: set.kind, files: await this.probe(connection, spec, set.files, quarantined) });
        if (next.reduce((n, s) => n + s.files.length, 0) === before) throw err; // not a file problem
        current = next;
      }
    }
  }

  /** Files whose footer matches the table schema; the others are quarantined and reported. */
  async check(connection: DuckDBConnection, spec: ModelSpec, kind: LakeKind, files: LakeFile[], report: QuarantinedFile[]): Promise<LakeFile[]> {
    const expected = lakeColumns(spec, kind);
    const signature = expected.map((c) => `${c.name}:${c.type}`).join(',');
    const key = (f: LakeFile) => `${f.bytes}:${f.mtimeMs}:${signature}`;
    const pending = files.filter((f) => this.verified.get(f.path) !== key(f));
    if (pending.length === 0) return files;

    let schemas: Map<string, Map<string, string>>;
    try {
      schemas = await readSchemas(connection, pending.map((f) => f.path));
    } catch {
      // One unreadable footer fails the batch: read them one at a time to find which.
      schemas = new Map();
      for (const file of pending) {
        try {
          const one = await readSchemas(connection, [file.path]);
          schemas.set(file.path, one.get(file.path) ?? new Map());
        } catch (err) {
          await this.quarantine(spec.name, file, `unreadable Parquet file ${file.relative}: ${firstLine(err)}`, report);
        }
      }
    }

    const bad = new Set<string>();
    for (const file of pending) {
      const actual = schemas.get(file.path);
      if (!actual) {
        bad.add(file.path);
        continue;
      }
      const problems = compareSchema(expected, actual);
      if (problems) {
        bad.add(file.path);
        await this.quarantine(spec.name, file, `schema drift in ${file.relative}: ${problems}`, report);
      } else {
        this.verified.set(file.path, key(file));
      }
    }
    return files.filter((f) => !bad.has(f.path));
  }

  /** Reads every column of every file; returns the files that read cleanly (vanished files are dropped). */
  private async probe(connection: DuckDBConnection, spec: ModelSpec, files: LakeFile[], report: QuarantinedFile[]): Promise<LakeFile[]> {
    const ok: LakeFile[] = [];
    for (const file of files) {
      if (!(await exists(file.path))) continue; // moved away by another process since listing
      try {
        await connection.run(`SELECT sum(hash(COLUMNS(*))) FROM read_parquet(${sql.str(file.path)})`);
        ok.push(file);
      } catch (err) {
        this.verified.delete(file.path);
        await this.quarantine(spec.name, file, `corrupted Parquet file ${file.relative}: ${firstLine(err)}`, report);
      }
    }
    return ok;
  }

  /** Moves a file under quarantine/ (same relative path) and writes <file>.reason.json beside it. */
  async quarantine(model: string, file: LakeFile, reason: string, report: QuarantinedFile[]): Promise<void> {
    const target = path.join(this.layout.quarantineDir(model), file.relative);
    await fs.mkdir(path.dirname(target), { recursive: true });
    let movedHere = true;
    try {
      await fs.rename(file.path, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      movedHere = false; // another reader got there first; the file is out of the lake either way
    }
    if (movedHere) {
      const note = { file: file.path, relative: file.relative, quarantinedAs: target, reason, bytes: file.bytes, quarantinedAt: new Date().toISOString() };
      const reasonFile = `${target}.reason.json`;
      await fs.writeFile(`${reasonFile}.tmp`, `${JSON.stringify(note, null, 2)}\n`);
      await fs.rename(`${reasonFile}.tmp`, reasonFile);
      logger().warn({ model, file: file.relative, quarantinedAs: target, reason }, 'lake file quarantined');
    }
    report.push({ file: file.path, reason });
  }
}

/** Top-level column name → DuckDB type per file, from the Parquet footers. */
async function readSchemas(connection: DuckDBConnection, files: string[]): Promise<Map<string, Map<string, string>>> {
  const list = files.map((f) => sql.str(f)).join(', ');
  const reader = await connection.runAndReadAll(`SELECT file_name, name, duckdb_type, num_children FROM parquet_schema([${list}])`);
  const out = new Map<string, Map<string, string>>();
  let columns = new Map<string, string>();
  let skip = 0; // descendants of a nested column still to pass over
  let file = '';
  for (const [fileName, name, type, children] of reader.getRowsJS() as [string, string, string | null, bigint | null][]) {
    const childCount = Number(children ?? 0);
    if (fileName !== file) {
      // Each file's rows are its schema tree, depth first, starting with the root element.
      file = fileName;
      columns = new Map();
      out.set(fileName, columns);
      skip = 0;
      continue;
    }
    if (skip > 0) {
      skip += childCount - 1;
      continue;
    }
    columns.set(name, type ?? 'NESTED');
    skip = childCount;
  }
  return out;
}

function compareSchema(expected: { name: string; type: string }[], actual: Map<string, string>): string | undefined {
  const missing = expected.filter((c) => !actual.has(c.name)).map((c) => c.name);
  const extra = [...actual.keys()].filter((name) => !expected.some((c) => c.name === name));
  const wrong = expected
    .filter((c) => actual.has(c.name) && actual.get(c.name) !== c.type)
    .map((c) => `${c.name} is ${actual.get(c.name)}, expected ${c.type}`);
  const parts = [
    missing.length ? `missing column(s) ${missing.join(', ')}` : '',
    extra.length ? `extra column(s) ${extra.join(', ')}` : '',
    wrong.length ? `wrong type: ${wrong.join('; ')}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join('; ') : undefined;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

export function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}
