import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { categoryAt, type CategoricalColumn, type FeatureColumns, type FeatureDef, type FeatureRow, numericAt, type NumericColumn, rowCountOf, rowsToColumns } from './columns.js';
import { ModelLoadError } from './errors.js';
import { argmaxRows, type ColumnPredictions, type LoadedModel, type ModelTask, type Prediction, toRows } from './scorer.js';

/**
 * ONNX models under the trainer contract (docs/trainer-contract.md): one input per feature named
 * after it, shaped [N, 1] (or [N]); float/double for numerical (NaN = missing), string for
 * categorical ("" = missing). Binary classifiers expose class probabilities [N, 2] (output named
 * `probabilities`, or the first float output whose last dimension is 2); multiclass classifiers
 * [N, k] in class order (`probabilities`, or the first float output whose last dimension is k);
 * regressors one float output [N, 1].
 */
type OrtModule = typeof import('onnxruntime-node');

let ortModule: Promise<OrtModule> | undefined;
/** onnxruntime's native binding is loaded only when an ONNX model is. */
function ort(): Promise<OrtModule> {
  ortModule ??= import('onnxruntime-node');
  return ortModule;
}

interface InputPlan {
  name: string;
  feature: FeatureDef;
  tensorType: 'float32' | 'float64' | 'string';
  rank: 1 | 2;
}

export class OnnxScorer implements LoadedModel {
  readonly format = 'onnx' as const;
  readonly threshold?: number;
  readonly classCount?: number;
  readonly features: readonly FeatureDef[];

  private constructor(
    private readonly ortApi: OrtModule,
    private readonly session: InferenceSession,
    private readonly inputs: InputPlan[],
    private readonly output: string,
    readonly task: ModelTask,
    readonly path: string,
    readonly sha256: string,
    classCount?: number,
  ) {
    this.features = inputs.map((i) => i.feature);
    this.threshold = task === 'binary_classification' ? 0.5 : undefined;
    this.classCount = task === 'multiclass_classification' ? classCount : undefined;
  }

  static async create(bytes: Uint8Array, path: string, sha256: string, expectedTask?: ModelTask, classCount?: number): Promise<OnnxScorer> {
    const api = await ort();
    let session: InferenceSession;
    try {
      session = await api.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
    } catch (err) {
      throw new ModelLoadError('invalid', `${path}: onnxruntime cannot load this model: ${(err as Error).message}`);
    }
    try {
      const inputs = planInputs(session, path);
      const { output, task, width } = planOutput(session, path, expectedTask, classCount);
      return new OnnxScorer(api, session, inputs, output, task, path, sha256, width);
    } catch (err) {
      await session.release().catch(() => undefined);
      throw err;
    }
  }

  async predict(rows: readonly FeatureRow[]): Promise<Prediction[]> {
    return toRows(await this.predictColumns(rowsToColumns(rows, this.features), rows.length));
  }

  async predictColumns(columns: FeatureColumns, rowCount?: number): Promise<ColumnPredictions> {
    const n = rowCount ?? rowCountOf(columns, this.features);
    const scores = new Float64Array(n);
    const predictions = new Float64Array(n);
    if (n === 0) return { predictions, scores };
    const feeds: Record<string, Tensor> = {};
    for (const input of this.inputs) {
      const column = columns[input.name];
      if (column === undefined) throw new TypeError(`missing feature column "${input.name}"`);
      const dims = input.rank === 2 ? [n, 1] : [n];
      if (input.tensorType === 'string') {
        const values = new Array<string>(n);
        for (let i = 0; i < n; i++) values[i] = categoryAt(column as CategoricalColumn, i) ?? '';
        feeds[input.name] = new this.ortApi.Tensor('string', values, dims);
      } else {
        const values = input.tensorType === 'float32' ? new Float32Array(n) : new Float64Array(n);
        for (let i = 0; i < n; i++) values[i] = numericAt(column as NumericColumn, i);
        feeds[input.name] = new this.ortApi.Tensor(input.tensorType, values, dims);
      }
    }
    const result = await this.session.run(feeds, [this.output]);
    const out = result[this.output];
    const data = out.data as ArrayLike<number>;
    const width = out.dims.length >= 2 ? Number(out.dims[out.dims.length - 1]) : 1;
    if (data.length !== n * width) throw new Error(`${this.path}: output "${this.output}" has ${data.length} values for ${n} rows`);
    if (this.task === 'multiclass_classification') {
      if (width !== this.classCount) throw new Error(`${this.path}: output "${this.output}" has ${width} class probabilities per row, expected ${this.classCount}`);
      const probabilities = Float64Array.from(data, Number);
      return { ...argmaxRows(probabilities, width, n), probabilities };
    }
    for (let i = 0; i < n; i++) {
      if (this.task === 'binary_classification') {
        const p = Number(data[i * width + (width === 2 ? 1 : 0)]);
        scores[i] = p;
        predictions[i] = p >= 0.5 ? 1 : 0;
      } else {
        scores[i] = Number(data[i * width]);
        predictions[i] = scores[i];
      }
    }
    return { predictions, scores };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

function planInputs(session: InferenceSession, path: string): InputPlan[] {
  return session.inputMetadata.map((meta) => {
    if (!meta.isTensor) throw new ModelLoadError('incompatible', `${path}: input "${meta.name}" is not a tensor`);
    const rank = meta.shape.length;
    const lastDim = meta.shape[rank - 1];
    if (rank !== 1 && !(rank === 2 && (lastDim === 1 || typeof lastDim === 'string'))) {
      throw new ModelLoadError('incompatible', `${path}: input "${meta.name}" has shape [${meta.shape.join(', ')}], expected [N, 1] (one input per feature)`);
    }
    let tensorType: InputPlan['tensorType'];
    if (meta.type === 'string') tensorType = 'string';
    else if (meta.type === 'float32' || meta.type === 'float64') tensorType = meta.type;
    else throw new ModelLoadError('incompatible', `${path}: input "${meta.name}" is ${meta.type}, expected float, double or string`);
    const feature: FeatureDef = { name: meta.name, type: tensorType === 'string' ? 'categorical' : 'numerical' };
    return { name: meta.name, feature, tensorType, rank: rank === 1 ? 1 : 2 };
  });
}

function planOutput(session: InferenceSession, path: string, expectedTask?: ModelTask, classCount?: number): { output: string; task: ModelTask; width?: number } {
  const floats = session.outputMetadata.filter(
    (m): m is InferenceSession.TensorValueMetadata => m.isTensor && (m.type === 'float32' || m.type === 'float64'),
  );
  const named = floats.find((m) => m.name === 'probabilities');
  const namedWidth = named?.shape.length === 2 && typeof named.shape[1] === 'number' ? named.shape[1] : undefined;
  // Without a spec, a "probabilities" output of three or more classes says multiclass.
  if (expectedTask === 'multiclass_classification' || (expectedTask === undefined && namedWidth !== undefined && namedWidth >= 3)) {
    // Without the spec's classes the model's own static width says how many it has.
    const k = classCount ?? namedWidth ?? 0;
    const found = named ?? floats.find((m) => m.shape.length === 2 && m.shape[1] === k);
    const width = found?.shape.length === 2 ? found.shape[1] : undefined;
    if (!found || (typeof width === 'number' && width !== k) || k < 3) {
      throw new ModelLoadError('incompatible', `${path}: no class-probability output for ${k} classes (expected a float output "probabilities" shaped [N, ${k}]; outputs: ${describe(session)}); export classifiers with zipmap disabled`);
    }
    return { output: found.name, task: 'multiclass_classification', width: k };
  }
  if (expectedTask === 'binary_classification' && namedWidth !== undefined && namedWidth !== 2) {
    throw new ModelLoadError('incompatible', `${path}: output "probabilities" has ${namedWidth} classes, a binary classifier 2 (task: multiclass_classification with its classes?)`);
  }
  const probabilities = floats.find((m) => m.name === 'probabilities') ?? floats.find((m) => m.shape.length === 2 && m.shape[1] === 2);
  if (expectedTask !== 'regression' && probabilities) return { output: probabilities.name, task: 'binary_classification' };
  if (expectedTask === 'binary_classification') {
    throw new ModelLoadError(
      'incompatible',
      `${path}: no class-probability output (expected a float output "probabilities" shaped [N, 2]; outputs: ${describe(session)}); export classifiers with zipmap disabled`,
    );
  }
  const value = floats.find((m) => m.shape.length <= 1 || m.shape[m.shape.length - 1] === 1 || typeof m.shape[m.shape.length - 1] === 'string');
  if (!value) throw new ModelLoadError('incompatible', `${path}: no float output shaped [N, 1] for a regression value (outputs: ${describe(session)})`);
  return { output: value.name, task: 'regression' };
}

function describe(session: InferenceSession): string {
  return session.outputMetadata.map((m) => (m.isTensor ? `${m.name}:${m.type}[${m.shape.join(',')}]` : `${m.name}:non-tensor`)).join(', ');
}
