import type { ModelSpec } from '../../../config/schema.js';
import { runtimeSettings, type LakeStoreSetting } from '../../../config/settings.js';
import {
  DataInputError,
  type AppendResult,
  type BuildDatasetOptions,
  type CountNewLabelsOptions,
  type DataBackend,
  type DatasetResult,
  type ImportResult,
  type LabelHistory,
  type LabelRow,
  type LakeKind,
  type LabelledExamples,
  type LabelledExamplesQuery,
  type MaturedLabelsQuery,
  type MaturedLabelsResult,
  type PredictionRow,
  type ServedEvidence,
  type ServedEvidenceQuery,
  type ServingErrorRow,
  type TrainingRow,
  type WindowQuery,
  type WindowResult,
} from '../types.js';
import { buildDataset, localDataset } from './dataset.js';
import { Duck } from './duck.js';
import { servedEvidence } from './evidence.js';
import { importFile } from './importer.js';
import { LakeLayout } from './layout.js';
import { RemoteLake } from './remote.js';
import { FileGuard } from './quarantine.js';
import { labelledExamples } from './examples.js';
import { countNewLabels, labelHistory, maturedLabels, readWindow, type LakeContext } from './reads.js';
import { labelColumns, predictionColumns, servingErrorColumns, trainingColumns } from './rows.js';
import { writeColumnar } from './writer.js';

export interface LakeBackendOptions {
  /** Root data folder; default runtimeSettings().dataDir (RETRAIN_DATA_DIR, ".data"). */
  dataDir?: string;
  /** DuckDB worker threads; default all cores. */
  threads?: number;
  /** DuckDB memory limit such as "4GB"; default DuckDB's (80% of RAM). */
  memoryLimit?: string;
  /** Where the lake and datasets are kept; default runtimeSettings().lakeStore (RETRAIN_LAKE_STORE), local Parquet when unset. */
  store?: LakeStoreSetting;
}

/** The embedded data backend: a Parquet lake under <dataDir>/lake, queried by in-process DuckDB. */
export class LakeDataBackend implements DataBackend {
  readonly layout: LakeLayout;
  private readonly ctx: LakeContext;

  constructor(options: LakeBackendOptions = {}) {
    const dataDir = options.dataDir ?? runtimeSettings().dataDir;
    const store = options.store ?? runtimeSettings().lakeStore;
    this.layout = new LakeLayout(dataDir, store.kind === 's3' ? new RemoteLake(store, dataDir) : undefined);
    const duck = new Duck({ scratchDir: this.layout.scratchDir, threads: options.threads, memoryLimit: options.memoryLimit });
    this.ctx = { layout: this.layout, duck, guard: new FileGuard(this.layout) };
  }

  readWindow(spec: ModelSpec, query: WindowQuery): Promise<WindowResult> {
    return readWindow(this.ctx, spec, query);
  }

  maturedLabels(spec: ModelSpec, query: MaturedLabelsQuery): Promise<MaturedLabelsResult> {
    return maturedLabels(this.ctx, spec, query);
  }

  labelledExamples(spec: ModelSpec, query: LabelledExamplesQuery): Promise<LabelledExamples> {
    return labelledExamples(this.ctx, spec, query);
  }

  countNewLabels(spec: ModelSpec, since: Date, options?: Date | CountNewLabelsOptions): Promise<number> {
    return countNewLabels(this.ctx, spec, since, options);
  }

  servedEvidence(spec: ModelSpec, query: ServedEvidenceQuery): Promise<ServedEvidence> {
    return servedEvidence(this.ctx, spec, query);
  }

  labelHistory(spec: ModelSpec, requestId: string, options?: { asOf?: Date }): Promise<LabelHistory> {
    return labelHistory(this.ctx, spec, requestId, options);
  }

  buildDataset(spec: ModelSpec, options: BuildDatasetOptions): Promise<DatasetResult> {
    return buildDataset(this.ctx, spec, options);
  }

  async importFile(spec: ModelSpec, kind: LakeKind, file: string): Promise<ImportResult> {
    return this.published(await importFile(this.ctx, spec, kind, file));
  }

  /** A dataset snapshot as local files: `dataset.datasetDir` when this data dir has it, else downloaded from the lake store (hash-checked). */
  localDataset(spec: ModelSpec, dataset: { datasetId: string; datasetDir: string }): Promise<string> {
    return localDataset(this.ctx, spec, dataset);
  }

  async appendPredictions(spec: ModelSpec, rows: PredictionRow[]): Promise<AppendResult> {
    const data = predictionColumns(spec, rows); // validate before touching DuckDB or the disk
    return this.published(await this.ctx.duck.with((c) => writeColumnar(c, this.layout, spec.name, 'predictions', data)));
  }

  async appendLabels(model: ModelSpec | string, rows: LabelRow[]): Promise<AppendResult> {
    const name = modelName(model, 'appendLabels');
    const data = labelColumns(name, rows);
    return this.published(await this.ctx.duck.with((c) => writeColumnar(c, this.layout, name, 'labels', data)));
  }

  async appendServingErrors(model: ModelSpec | string, rows: ServingErrorRow[]): Promise<AppendResult> {
    const name = modelName(model, 'appendServingErrors');
    const data = servingErrorColumns(name, rows);
    return this.published(await this.ctx.duck.with((c) => writeColumnar(c, this.layout, name, 'serving_errors', data)));
  }

  async appendTraining(spec: ModelSpec, rows: TrainingRow[]): Promise<AppendResult> {
    const data = trainingColumns(spec, rows);
    return this.published(await this.ctx.duck.with((c) => writeColumnar(c, this.layout, spec.name, 'training', data)));
  }

  /** With a lake store: uploads what a write left in the outbox (earlier leftovers first); the result names the uploaded keys' cached copies. */
  private async published<T extends { files: string[] }>(result: T): Promise<T> {
    const remote = this.layout.remote;
    if (!remote || result.files.length === 0) return result;
    await remote.flushOutbox();
    return result;
  }

  async close(): Promise<void> {
    // Leftovers of a store that did not answer: one last try, logged if it fails (they stay for the next start).
    await this.layout.remote?.flushOutbox({ force: true });
    return this.ctx.duck.close();
  }
}

/** The name becomes a folder: refuse anything the model schema would refuse. */
function modelName(model: ModelSpec | string, what: string): string {
  const name = typeof model === 'string' ? model : model.name;
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw new DataInputError(`${what}: invalid model name ${JSON.stringify(name)}`);
  return name;
}

export function createLakeBackend(options: LakeBackendOptions = {}): LakeDataBackend {
  return new LakeDataBackend(options);
}
