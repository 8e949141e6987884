import { copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { promoteChampion } from '../../backends/champion-moves.js';
import { DataInputError } from '../../backends/data/types.js';
import { timeProblem } from '../../backends/data/row-rules.js';
import { ARTIFACT_FILES } from '../../backends/models/artifact-files.js';
import { RegistryError, type LedgerEntry, type ModelVersion } from '../../backends/registry/types.js';
import type { Registry } from '../../backends/registry/types.js';
import { GatewayClient, ServingError } from '../../backends/serving/gateway-client.js';
import type { ExternalData } from '../../backends/training/external-data.js';
import type { ModelSpec } from '../../config/schema.js';
import type { DriftProfile, ModelImportance } from '../../drift/profile.js';
import { requireModel } from '../models.js';
import { configOption } from '../options.js';

async function withRegistry<T>(use: (registry: Registry) => T): Promise<T> {
  // Loaded on use, not at every start (see main.ts).
  const { openRegistry } = await import('../../backends/registry/open.js');
  const { runtimeSettings } = await import('../../config/settings.js');
  const { RefusedError } = await import('../output.js');
  const registry = openRegistry(runtimeSettings());
  try {
    return use(registry);
  } catch (err) {
    if (err instanceof RegistryError) throw new RefusedError(err.message);
    throw err;
  } finally {
    registry.close();
  }
}

const metricText = (m: Record<string, number | null>) =>
  Object.entries(m)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k} ${(v as number).toFixed(4)}`)
    .join(', ');

/** "importance (neg_log_loss on 975 validation rows, 3 repeats): a 62%, b 30%, c 8%, d 0%", largest share first. */
function importanceText(i: ModelImportance): string {
  const ranked = Object.entries(i.features).sort((a, b) => b[1].share - a[1].share || b[1].importance - a[1].importance);
  return `importance (${i.metric} on ${i.rows}${i.split ? ` ${i.split}` : ''} rows, ${i.repeats} repeats): ${ranked.map(([name, f]) => `${name} ${(f.share * 100).toFixed(0)}%`).join(', ')}`;
}

/** `retrain models list|show|register` and `retrain ledger`. */
export function registerRegistryCommands(program: Command): void {
  const models = program.command('models').description('model versions and aliases in the registry');
  models
    .command('list')
    .description('every model with its champion, challenger and previous versions')
    .action(async () => {
      const { listModels } = await import('../../backends/registry/queries.js');
      const { emit } = await import('../output.js');
      const options = configOption(program);
      const rows = await withRegistry((r) => listModels(r));
      emit(options, rows, () =>
        rows.length === 0
          ? 'no models registered yet'
          : rows.map((m) => `${m.model.padEnd(24)} champion ${m.champion ?? '-'}  challenger ${m.challenger ?? '-'}  previous ${m.previous ?? '-'}  (${m.versionCount} version${m.versionCount === 1 ? '' : 's'})`).join('\n'),
      );
    });
  models
    .command('show <model> [version]')
    .description('versions of a model (or one version) with metrics, dataset, cost and who made it')
    .action(async (model: string, version?: string) => {
      const { showModel } = await import('../../backends/registry/queries.js');
      const { emit, RefusedError } = await import('../output.js');
      const options = configOption(program);
      await requireModel(options, model);
      const detail = await withRegistry((r) => {
        // The profile itself stays out (it is large); its importances come along.
        const shown = showModel(r, model);
        const importance = new Map(r.listVersions(model).map((v) => [v.version, (v.referenceProfile as DriftProfile | null)?.importance ?? null]));
        return { ...shown, versions: shown.versions.map((v) => ({ ...v, importance: importance.get(v.version) ?? null })) };
      });
      const versions = version === undefined ? detail.versions : detail.versions.filter((v) => String(v.version) === version || v.aliases.includes(version as never));
      if (version !== undefined && versions.length === 0) throw new RefusedError(`model ${model} has no version ${version}`);
      emit(options, version === undefined ? detail : versions[0], () =>
        [
          `${model}: champion ${detail.aliases.champion ?? '-'}, challenger ${detail.aliases.challenger ?? '-'}, previous ${detail.aliases.previous ?? '-'}; spend ${detail.month} $${detail.spendThisMonth.toFixed(2)}`,
          ...versions.map((v) =>
            [
              `  v${v.version}${v.aliases.length ? ` [${v.aliases.join(', ')}]` : ''} ${v.createdAt} ${v.trainer} ${v.format} ${v.datasetId ?? ''} $${v.costUsd.toFixed(2)}`,
              `      ${metricText(v.metrics)}`,
              ...(v.importance ? [`      ${importanceText(v.importance)}`] : []),
              `      ${v.artifactUri}`,
            ].join('\n'),
          ),
        ].join('\n'),
      );
    });

  models
    .command('register <model>')
    .description('register a version trained outside retrain, with its reference profile and feature importances from its training data and its metrics on validation data')
    .requiredOption('--artifact <file>', `the model: a ${ARTIFACT_FILES['retrain-linear/v1']} (retrain-linear/v1) or an ONNX file`)
    .requiredOption('--training-data <file>', 'the rows it was trained on: CSV, Parquet or JSON Lines with the features and the label (a ts column, if any, orders them)')
    .option('--validation-data <file>', 'held-out rows for metrics and importances (default: the latest 10% of the training data)')
    .option('--trained-at <time>', 'when it was trained, ISO-8601 (default: now)')
    .option('--promote', 'make it the champion (with a ledger entry) and deploy it to the gateway if the gateway is reachable')
    .option('--as <name>', 'who promotes, for the ledger', process.env.RETRAIN_USER ?? os.userInfo().username)
    .option('--reason <text>', 'why, for the ledger')
    .action(async (model: string, opts: RegisterOptions) => {
      const { emit, EXIT } = await import('../output.js');
      const options = configOption(program);
      const { spec } = await requireModel(options, model);
      const result = await registerExternal(spec, opts);
      for (const w of result.warnings) process.stderr.write(`retrain: warning: ${w}\n`);
      emit(options, result, () => registerText(result));
      if (result.promotion?.refused) process.exitCode = EXIT.refused;
    });

  program
    .command('ledger [model]')
    .description('the append-only promotion ledger: every alias move, who, why, metrics before and after')
    .option('--limit <n>', 'entries', (v) => Number.parseInt(v, 10), 50)
    .action(async (model: string | undefined, opts: { limit: number }) => {
      const { ledgerEntries } = await import('../../backends/registry/queries.js');
      const { emit } = await import('../output.js');
      const options = configOption(program);
      if (model !== undefined) await requireModel(options, model);
      const entries = await withRegistry((r) => ledgerEntries(r, { model, limit: opts.limit }));
      const none = model === undefined ? 'the ledger is empty' : `the ledger has no entries for ${model} yet`;
      emit(options, entries, () =>
        entries.length === 0
          ? none
          : entries.map((e) => `${e.at} ${e.model} ${e.action} ${e.fromVersion ?? '-'} → ${e.toVersion ?? '-'} by ${e.actor}: ${e.reason}`).join('\n'),
      );
    });
}

interface RegisterOptions {
  artifact: string;
  trainingData: string;
  validationData?: string;
  trainedAt?: string;
  promote?: boolean;
  as: string;
  reason?: string;
}

interface RegisterResult {
  model: string;
  version: number;
  artifactUri: string;
  format: string;
  createdAt: string;
  trainer: string;
  metrics: ModelVersion['metrics'];
  /** Where the metrics and importances were measured. */
  validation: { source: ExternalData['validationSource']; rows: number; file: string };
  trainingRows: number;
  importance: ModelImportance | null;
  promotion: { entry: LedgerEntry | null; gateway: 'deployed' | 'unreachable' | 'refused'; detail?: string; refused?: boolean } | null;
  warnings: string[];
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** --trained-at: an ISO-8601 date or time (UTC unless it carries an offset) that has passed. */
function parseTrainedAt(text: string, now: Date, badInput: (where: string, problem: string) => Error): Date {
  const trimmed = text.trim();
  if (!ISO_TIME.test(trimmed)) throw badInput('--trained-at', `expected an ISO-8601 time such as 2025-03-01T12:00:00Z, got ${JSON.stringify(text)}`);
  const iso = trimmed.replace(' ', 'T');
  // A time without an offset is UTC (JavaScript would read it as local time).
  const at = new Date(iso.length > 10 && !/(Z|[+-]\d{2}:?\d{2})$/i.test(iso) ? `${iso}Z` : iso);
  // Date reads 2025-02-30 as March 2: the calendar date must exist.
  const [y, m, d] = trimmed.slice(0, 10).split('-').map(Number);
  if (!Number.isFinite(at.getTime()) || new Date(Date.UTC(y, m - 1, d)).getUTCDate() !== d) {
    throw badInput('--trained-at', `${JSON.stringify(text)} is not a real time`);
  }
  if (at.getTime() > now.getTime()) throw badInput('--trained-at', `${at.toISOString()} is in the future (now is ${now.toISOString()})`);
  const problem = timeProblem(at.getTime());
  if (problem) throw badInput('--trained-at', problem);
  return at;
}

async function registerExternal(spec: ModelSpec, opts: RegisterOptions): Promise<RegisterResult> {
  const { loadModel, ModelLoadError } = await import('../../backends/models/index.js');
  const { openRegistry } = await import('../../backends/registry/open.js');
  const { evaluate, TrainingError } = await import('../../backends/training/index.js');
  const [{ buildModelReference }, { readExternalData }] = await Promise.all([import('../../backends/training/reference.js'), import('../../backends/training/external-data.js')]);
  const { ConfigError } = await import('../../config/load.js');
  const { runtimeSettings } = await import('../../config/settings.js');
  const { RefusedError } = await import('../output.js');
  /** Bad input: one line naming the flag (and file), exit code 2. */
  const badInput = (where: string, problem: string) => new ConfigError(where, [problem]);

  const settings = runtimeSettings();
  const now = new Date();
  const trainedAt = opts.trainedAt === undefined ? undefined : parseTrainedAt(opts.trainedAt, now, badInput);
  const warnings: string[] = [];

  // Every check first: a refusal registers nothing.
  const artifactFile = path.resolve(opts.artifact);
  if (!(await stat(artifactFile).then((s) => s.isFile(), () => false))) throw badInput('--artifact', `${opts.artifact}: file not found`);
  const loaded = await loadModel(artifactFile, { spec: { task: spec.task, features: spec.features } }).catch((err: unknown) => {
    if (err instanceof ModelLoadError) throw badInput('--artifact', `${err.message} (model ${spec.name} declares ${spec.features.map((f) => `${f.name} ${f.type}`).join(', ')}; task ${spec.task})`);
    throw err;
  });
  const { format, sha256 } = loaded;
  await loaded.close();

  const scratch = await mkdtemp(path.join(os.tmpdir(), 'retrain-register-'));
  try {
    const names = { training: `--training-data ${opts.trainingData}`, validation: `--validation-data ${opts.validationData}` };
    let data: ExternalData;
    try {
      data = await readExternalData(spec, { trainingFile: opts.trainingData, validationFile: opts.validationData, validationFraction: 0.1, outDir: scratch, labels: names });
    } catch (err) {
      if (!(err instanceof DataInputError)) throw err;
      // The message starts with the flag and file; ConfigError adds no second prefix to ": ...".
      const where = err.message.startsWith(names.validation) ? names.validation : names.training;
      throw new ConfigError(where, [err.message.slice(where.length)]);
    }
    if (trainedAt && data.lastTrainingTs && trainedAt.getTime() < Date.parse(data.lastTrainingTs)) {
      throw badInput('--trained-at', `${trainedAt.toISOString()} is before the latest row of ${opts.trainingData} (ts ${data.lastTrainingTs}): a model cannot be trained before its data`);
    }
    if (data.validationSource !== 'file') {
      warnings.push(
        `no --validation-data: metrics and importances are measured on the ${data.validationSource === 'latest rows by ts' ? 'latest' : 'last'} ${data.validationRows} rows of ${opts.trainingData}` +
          `${data.validationSource === 'last rows of the file' ? ' (it has no ts column, so in file order)' : ' by ts'}, which the model was trained on: they flatter it`,
      );
    }

    const evaluation = await evaluate(artifactFile, data.validationParquet, spec, { sha256 });
    let profile: DriftProfile;
    try {
      profile = await buildModelReference(spec, { artifactPath: artifactFile, trainParquet: data.trainParquet, validationParquet: data.validationParquet, sha256 });
    } catch (err) {
      if (err instanceof TrainingError) throw badInput('--artifact', err.message);
      throw err;
    }

    // The registry keeps its own copy under the data directory (where the gateway reads artifacts),
    // named by content, so moving or editing the original later changes nothing.
    const kept = path.join(settings.dataDir, 'artifacts', spec.name, `external-${sha256.slice(0, 16)}`, ARTIFACT_FILES[format]);
    await mkdir(path.dirname(kept), { recursive: true });
    await copyFile(artifactFile, kept);
    // With an object store (RETRAIN_ARTIFACT_STORE=s3://...) the registry names the uploaded object,
    // which training workers and gateway replicas on other hosts read; the local copy stays as a cache.
    let registeredUri = kept;
    if (settings.artifactStore.kind === 's3') {
      const { closeS3Clients, openArtifactStore } = await import('../../backends/artifacts/index.js');
      try {
        registeredUri = (await openArtifactStore(settings).put(kept)).uri;
      } finally {
        await closeS3Clients();
      }
    }

    const registry = openRegistry(settings);
    try {
      const version = await registry.registerVersion({
        model: spec.name,
        artifactUri: registeredUri,
        contentHash: sha256,
        metrics: evaluation.metrics,
        referenceProfile: profile,
        trainer: 'external',
        params: {
          artifact: artifactFile,
          trainingData: path.resolve(opts.trainingData),
          ...(opts.validationData ? { validationData: path.resolve(opts.validationData) } : {}),
          validation: data.validationSource,
          trainingRows: data.trainRows,
          validationRows: data.validationRows,
        },
        costUsd: 0,
        createdAt: trainedAt,
      });
      const result: RegisterResult = {
        model: spec.name,
        version: version.version,
        artifactUri: version.artifactUri,
        format: version.format,
        createdAt: version.createdAt,
        trainer: version.trainer,
        metrics: version.metrics,
        validation: { source: data.validationSource, rows: evaluation.rowCount, file: path.resolve(opts.validationData ?? opts.trainingData) },
        trainingRows: data.trainRows,
        importance: profile.importance ?? null,
        promotion: null,
        warnings,
      };
      if (opts.promote) result.promotion = await promote(spec, registry, version, opts, warnings);
      return result;
    } catch (err) {
      if (err instanceof RegistryError) throw new RefusedError(err.message);
      throw err;
    } finally {
      registry.close();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Like `retrain rollback`: the gateway first, so the registry never names a champion the gateway
 * refused to load (backends/champion-moves.ts). An unreachable gateway (not running, e.g. before
 * `retrain dev`) does not block the registry change: the version becomes the champion there, with
 * a warning that serving was not updated.
 */
async function promote(spec: ModelSpec, registry: Registry, version: ModelVersion, opts: RegisterOptions, warnings: string[]): Promise<NonNullable<RegisterResult['promotion']>> {
  const { runtimeSettings } = await import('../../config/settings.js');
  const { adminToken } = await import('../admin-token.js');
  const settings = runtimeSettings();
  const url = spec.serving.url ?? settings.gatewayUrl;
  const gateway = new GatewayClient(url, adminToken(settings.dataDir));
  const unreachable = (err: unknown) => err instanceof ServingError && err.status === 0;
  const ctx = {
    actor: opts.as,
    reason: opts.reason ?? `registered v${version.version}, trained outside retrain (${path.basename(opts.artifact)} on ${path.basename(opts.trainingData)})`,
    metricsAfter: version.metrics,
  };
  let moved;
  try {
    moved = await promoteChampion({ registry, serving: gateway }, spec.name, version.version, ctx, { from: 'artifact', registryAnyway: unreachable });
  } catch (err) {
    if (!(err instanceof ServingError)) throw err;
    return { entry: null, gateway: 'refused', refused: true, detail: `v${version.version} is registered but NOT promoted: ${err.message}` };
  }
  if (moved.servingError === undefined) return { entry: moved.entry, gateway: 'deployed' };
  const detail = (moved.servingError as Error).message;
  warnings.push(`${detail}: v${version.version} is the champion in the registry, but the gateway was not updated and serves its previous model until v${version.version} is deployed to it`);
  return { entry: moved.entry, gateway: 'unreachable', detail };
}

function registerText(r: RegisterResult): string {
  const lines = [
    `${r.model}: registered v${r.version} (${r.trainer}, ${r.format}, trained at ${r.createdAt}) from ${r.trainingRows} training rows`,
    `  metrics on ${r.validation.source === 'file' ? `${r.validation.rows} validation rows` : `the ${r.validation.source === 'latest rows by ts' ? 'latest' : 'last'} ${r.validation.rows} training rows`}: ${metricText(r.metrics) || '(none)'}`,
    r.importance ? `  ${importanceText(r.importance)}` : '  importance: not measured (too few rows)',
    `  artifact: ${r.artifactUri}`,
  ];
  const p = r.promotion;
  if (p?.refused) lines.push(`  ${p.detail}`);
  else if (p?.entry) {
    lines.push(`  champion: v${p.entry.toVersion} (was ${p.entry.fromVersion === null ? 'none' : `v${p.entry.fromVersion}`}); ledger entry ${p.entry.id} by ${p.entry.actor}`);
    lines.push(p.gateway === 'deployed' ? '  gateway: serving it now' : '  gateway: not reachable, not updated (see the warning)');
  }
  return lines.join('\n');
}
