import type { Worker } from 'node:worker_threads';
import type { ModelSpec } from '../config/schema.js';
import { MAX_ERROR_REASON_LENGTH, type DataBackend, type FeatureValue, type LabelRow, type PredictionRow, type ServingErrorRow, type Variant } from '../backends/data/types.js';
import { siblingModule, spawnModuleWorker } from '../runtime/worker-thread.js';

/**
 * Where logged rows go. A row travels as a flat tuple (see the codecs below) built when the
 * prediction is made: appending it costs the request ~0.3 µs, and a batch of 1,000 tuples
 * crosses to the writer thread by structured clone in ~0.7 ms, once per batch.
 *
 * The default sink runs the lake writer in a worker thread with its own DuckDB instance: turning
 * 1,000 rows into Parquet takes 25-40 ms of JavaScript and DuckDB work (measured), which on the
 * request thread would stall every request arriving meanwhile and show up directly in the p99.
 * The in-process sink exists for callers that hand the gateway their own DataBackend.
 */
export type LogTable = 'predictions' | 'labels' | 'serving_errors';
export const LOG_TABLES: readonly LogTable[] = ['predictions', 'labels', 'serving_errors'];
export type LogRow = unknown[];

export interface LakeSink {
  write(table: LogTable, model: string, rows: LogRow[]): Promise<number>;
  /**
   * The rows not in the lake yet: predictions and serving errors by (request_id, variant), labels
   * by (request_id, label_ts, label). Journal replay uses it so a row written just before a kill
   * is not written twice (lake reads do not dedupe prediction rows). Absent: the sink cannot
   * tell, and the gateway runs without a journal.
   */
  filterNew?(table: LogTable, model: string, rows: LogRow[]): Promise<LogRow[]>;
  close(): Promise<void>;
}

/** The identity of a row for replay dedupe (see LakeSink.filterNew); prediction and error tuples both hold the variant at 3. */
export function rowKey(table: LogTable, t: LogRow): string {
  return table === 'labels' ? `${t[0] as string}\u0000${t[2] as number}\u0000${t[1] as number}` : `${t[0] as string}\u0000${t[3] as string}`;
}

/** A refusal that a retry cannot fix (a row the lake rejects): the lake log splits such a batch until the refused rows stand alone, and dead-letters only those. */
export class NonRetryableSinkError extends Error {
  override readonly name = 'NonRetryableSinkError';
}

/** Prediction tuple: [request_id, ts (epoch ms), model_version, variant, entity_id, prediction, score, latency_ms, ...features in spec order]. */
export function predictionTuple(
  requestId: string,
  tsMs: number,
  version: string,
  variant: Variant,
  entityId: string | null,
  prediction: number,
  score: number,
  latencyMs: number,
  features: Record<string, FeatureValue>,
  featureNames: readonly string[],
): LogRow {
  const row: LogRow = [requestId, tsMs, version, variant, entityId, prediction, score, latencyMs];
  for (let i = 0; i < featureNames.length; i++) row.push(features[featureNames[i]] ?? null);
  return row;
}

/** Label tuple: [request_id, label, label_ts (epoch ms)]. */
export function labelTuple(requestId: string, label: number, labelTsMs: number): LogRow {
  return [requestId, label, labelTsMs];
}

/**
 * Serving error tuple: [request_id, ts (epoch ms), model_version, variant, latency_ms, reason].
 * The reason is usually a scorer's exception message: made one line and cut to what the lake
 * keeps, so the writer never refuses an error row for its text.
 */
export function errorTuple(requestId: string, tsMs: number, version: string, variant: Variant, latencyMs: number, reason: string): LogRow {
  // eslint-disable-next-line no-control-regex
  const oneLine = reason.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim() || 'unknown error';
  let end = Math.min(oneLine.length, MAX_ERROR_REASON_LENGTH);
  // Never half a surrogate pair: the lake stores UTF-8.
  const last = oneLine.charCodeAt(end - 1);
  if (end < oneLine.length && last >= 0xd800 && last <= 0xdbff) end--;
  return [requestId, tsMs, version, variant, latencyMs, oneLine.slice(0, end)];
}

export function toPredictionRow(spec: Pick<ModelSpec, 'features'>, t: LogRow): PredictionRow {
  const features: Record<string, FeatureValue> = {};
  spec.features.forEach((f, i) => (features[f.name] = t[8 + i] as FeatureValue));
  return {
    request_id: t[0] as string,
    ts: t[1] as number,
    model_version: t[2] as string,
    variant: t[3] as Variant,
    entity_id: t[4] as string | null,
    prediction: t[5] as number,
    score: t[6] as number,
    latency_ms: t[7] as number,
    features,
  };
}

export function toLabelRow(t: LogRow): LabelRow {
  return { request_id: t[0] as string, label: t[1] as number, label_ts: t[2] as number };
}

export function toServingErrorRow(t: LogRow): ServingErrorRow {
  return { request_id: t[0] as string, ts: t[1] as number, model_version: t[2] as string, variant: t[3] as Variant, latency_ms: t[4] as number | null, reason: t[5] as string };
}

/** A tuple as the object the lake writer receives (dead-letter files hold these, one JSON per line). */
export function rowObject(spec: Pick<ModelSpec, 'features'> | undefined, table: LogTable, t: LogRow): unknown {
  if (table === 'labels') return toLabelRow(t);
  if (table === 'serving_errors') return toServingErrorRow(t);
  return spec ? toPredictionRow(spec, t) : t;
}

/** Writes one batch of tuples through a DataBackend (the in-process sink and the writer thread). */
export async function writeRows(data: DataBackend, spec: ModelSpec, table: LogTable, rows: LogRow[]): Promise<number> {
  switch (table) {
    case 'predictions':
      return (await data.appendPredictions(spec, rows.map((t) => toPredictionRow(spec, t)))).rowsWritten;
    case 'labels':
      return (await data.appendLabels(spec, rows.map(toLabelRow))).rowsWritten;
    case 'serving_errors':
      return (await data.appendServingErrors(spec, rows.map(toServingErrorRow))).rowsWritten;
  }
}

/** Writes through a DataBackend on the calling thread. */
export class InProcessSink implements LakeSink {
  private readonly specs: Map<string, ModelSpec>;
  constructor(
    private readonly data: DataBackend,
    specs: readonly ModelSpec[],
  ) {
    this.specs = new Map(specs.map((s) => [s.name, s]));
  }

  async write(table: LogTable, model: string, rows: LogRow[]): Promise<number> {
    const spec = this.specs.get(model);
    if (!spec) throw new NonRetryableSinkError(`unknown model ${model}`);
    try {
      return await writeRows(this.data, spec, table, rows);
    } catch (err) {
      if ((err as { nonRetryable?: boolean }).nonRetryable) throw new NonRetryableSinkError((err as Error).message);
      throw err;
    }
  }

  async close(): Promise<void> {}
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export interface ThreadSinkOptions {
  dataDir: string;
  specs: readonly ModelSpec[];
  /** DuckDB threads of the writer; 1 keeps the writer from competing with request handling. */
  threads?: number;
}

/** Writes through a LakeDataBackend in a worker thread; a crashed worker fails its writes (they are retried) and is restarted on the next write. */
export class ThreadSink implements LakeSink {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: ThreadSinkOptions) {}

  /** Starts the writer thread now (loading DuckDB takes ~1 s of CPU) instead of at the first flush. */
  start(): void {
    if (!this.closed) this.ensureWorker();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = spawnModuleWorker(siblingModule(import.meta.url, 'lake-sink-worker'), {
      workerData: { dataDir: this.options.dataDir, specs: this.options.specs, threads: this.options.threads ?? 1 },
    });
    worker.on('message', (m: { id: number; ok: boolean; rows?: number; keys?: string[]; message?: string; nonRetryable?: boolean }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.ok) p.resolve(m.keys ?? m.rows ?? 0);
      else p.reject(m.nonRetryable ? new NonRetryableSinkError(m.message ?? 'refused') : new Error(m.message ?? 'lake write failed'));
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(err);
      }
    };
    worker.on('error', (err) => fail(new Error(`lake writer thread crashed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`lake writer thread exited (code ${code})`)));
    // Referenced only while a write is pending: an idle writer thread must not keep the process alive,
    // and a pending write must (close() awaits it after the server stopped listening).
    worker.unref();
    this.worker = worker;
    return worker;
  }

  write(table: LogTable, model: string, rows: LogRow[]): Promise<number> {
    return this.call<number>({ table, model, rows });
  }

  async filterNew(table: LogTable, model: string, rows: LogRow[]): Promise<LogRow[]> {
    if (rows.length === 0) return rows;
    const existing = new Set(await this.call<string[]>({ op: 'existing', table, model, rows }));
    return rows.filter((r) => !existing.has(rowKey(table, r)));
  }

  private call<T>(message: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('lake sink is closed'));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.ref();
      worker.postMessage({ id, ...message });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    worker.ref();
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.postMessage({ op: 'close' });
    });
  }
}
