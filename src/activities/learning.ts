import { Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isS3Uri, localArtifact, openArtifactStore } from '../backends/artifacts/index.js';
import { resolveArtifact } from '../backends/models/load.js';
import { DATASET_FILES } from '../backends/data/types.js';
import { linearModel, type LinearModel } from '../backends/models/format.js';
import { evaluate } from '../backends/training/evaluate.js';
import { durationMs } from '../config/duration.js';
import type { ModelSpec } from '../config/schema.js';
import { judgeSnapshot, LEARNER_STATE_KEY, SNAPSHOT_HISTORY, snapshotDue, startLearner, stepBudget, type LearnerState, type OnlineCopy, type SnapshotVerdict } from '../learning/learner-state.js';
import { evenSample, OnlineLinearLearner } from '../learning/online-learner.js';
import { onlineVersion } from '../learning/online-version.js';
import type { Backends } from './backends.js';
import { afterEffect } from './fault-points.js';
import { refOf, type SpecRef } from './spec-catalog.js';

/** The local file of an artifact URI (an s3:// one through the hash-checked cache). */
async function localFile(uri: string, sha256: string): Promise<string> {
  return isS3Uri(uri) ? localArtifact(uri, { sha256 }) : (await resolveArtifact(uri)).path;
}

/** The most examples one step reads; the rate bound then thins them (a backlog is read over several steps). */
const MAX_READ = 50_000;

export interface LearnStep {
  model: string;
  /** The champion the copy grew from. */
  base: number;
  /** What serves the champion's share now: the online copy, or null (the champion alone). */
  copy: string | null;
  restarted: boolean;
  frozen: boolean;
  read: number;
  applied: number;
  skipped: number;
  /** Read but left out by the per-minute bound. */
  dropped: number;
  /** Prequential accuracy of this step (classifiers; null when nothing was applied or for regression). */
  accuracy: number | null;
  snapshotDue: boolean;
}

export interface SnapshotResult extends SnapshotVerdict {
  model: string;
  /** The registry version the snapshot was registered as. */
  version: number;
  copy: string;
  metric: number;
  lastGood: { registryVersion: number; metric: number | null };
}

export interface LearningActivities {
  learnOnline(input: { ref: SpecRef; asOf: string }): Promise<LearnStep>;
  snapshotOnline(input: { ref: SpecRef; asOf: string; workflowId: string; runId: string }): Promise<SnapshotResult | null>;
  freezeOnline(input: { ref: SpecRef; reason: string; snapshotVersion: number; at: string }): Promise<{ resetTo: string }>;
}

export function learningActivities(b: Backends): LearningActivities {
  const load = (model: string) => b.registry.monitorState(model, LEARNER_STATE_KEY) as LearnerState | undefined;
  const save = (model: string, state: LearnerState) => b.registry.saveMonitorState(model, LEARNER_STATE_KEY, state);

  /** The learner's current weights: the newest copy, or the champion's model file. */
  async function currentModel(spec: ModelSpec, state: LearnerState): Promise<LinearModel> {
    const file = state.copy ? await localFile(state.copy.artifactUri, state.copy.sha256) : await b.registry.verifyArtifact(spec.name, state.base);
    const parsed = linearModel.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (!parsed.success) throw new Error(`${spec.name} v${state.base}: the online learner needs a retrain-linear/v1 model (${parsed.error.issues[0]?.message})`);
    return parsed.data;
  }

  /**
   * Writes a copy under `<dataDir>/artifacts/<model>/online/` (and the object store, when set) and
   * points the gateway at it. Named by its content and version, so a retried step writes the same
   * bytes to the same place and the gateway's second push is a no-op.
   */
  async function publishCopy(spec: ModelSpec, model: LinearModel, version: string, updates: number): Promise<OnlineCopy> {
    const dir = path.join(b.settings.dataDir, 'artifacts', spec.name, 'online');
    await mkdir(dir, { recursive: true });
    const bytes = JSON.stringify(model);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const file = path.join(dir, `${version}-${sha256.slice(0, 12)}.json`);
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, bytes);
    await rename(temp, file);
    const store = openArtifactStore(b.settings);
    const artifactUri = store.setting.kind === 's3' ? (await store.put(file)).uri : `file://${file}`;
    await b.servingFor(spec.name).setOnline(spec.name, { version, artifactUri, sha256 });
    afterEffect('learnOnline:serving', spec.name);
    return { version, artifactUri, sha256, updates };
  }

  return {
    async learnOnline(input) {
      const spec = b.specs.resolve(refOf(input));
      const asOf = new Date(input.asOf);
      const champion = b.registry.resolve(spec.name, 'champion');
      const idle = (state: LearnerState | undefined, restarted: boolean): LearnStep => ({
        model: spec.name, base: state?.base ?? 0, copy: state?.copy?.version ?? null, restarted, frozen: state?.frozen != null,
        read: 0, applied: 0, skipped: 0, dropped: 0, accuracy: null, snapshotDue: false,
      });
      if (spec.learning.mode === 'batch' || !champion) return idle(load(spec.name), false);

      let state = load(spec.name);
      let restarted = false;
      // A new champion (a promotion, a rollback) restarts the learner from it: seed 002's hybrid.
      if (!state || state.base !== champion.version) {
        state = startLearner(champion, asOf);
        restarted = true;
        save(spec.name, state);
      }
      if (state.frozen) return idle(state, restarted);

      const examples = await b.data.labelledExamples(spec, { after: { labelTs: new Date(state.cursor.labelTs), requestId: state.cursor.requestId }, asOf, limit: MAX_READ });
      const budget = stepBudget(state, asOf, spec.learning.maxUpdatesPerMinute);
      const pick = evenSample(examples.count, budget);
      const learner = new OnlineLinearLearner(await currentModel(spec, state), { learningRate: spec.learning.learningRate, l2: spec.learning.l2 }, state.copy?.updates ?? 0);
      const report = learner.learn(examples.columns, examples.labels, examples.count, pick);
      let copy = state.copy;
      if (report.applied > 0) {
        const version = onlineVersion(state.base, learner.updates);
        copy = await publishCopy(spec, learner.toModel({ base: state.base, throughLabelTs: examples.labelTs[examples.count - 1] }), version, learner.updates);
      }
      const last = examples.count - 1;
      const next: LearnerState = {
        ...state,
        copy,
        cursor: last >= 0 ? { labelTs: new Date(examples.labelTs[last]).toISOString(), requestId: examples.requestIds[last] } : state.cursor,
        lastStepAt: asOf.toISOString(),
        totals: {
          steps: state.totals.steps + 1,
          applied: state.totals.applied + report.applied,
          skipped: state.totals.skipped + report.skipped,
          dropped: state.totals.dropped + (examples.count - pick.length),
          correct: state.totals.correct + report.correct,
        },
      };
      save(spec.name, next);
      Context.current().log.info('online step', { model: spec.name, read: examples.count, applied: report.applied, copy: copy?.version });
      return {
        model: spec.name,
        base: next.base,
        copy: copy?.version ?? null,
        restarted,
        frozen: false,
        read: examples.count,
        applied: report.applied,
        skipped: report.skipped,
        dropped: examples.count - pick.length,
        accuracy: spec.task !== 'regression' && report.applied > 0 ? report.correct / report.applied : null,
        snapshotDue: snapshotDue(next, asOf, durationMs(spec.learning.snapshotEvery)),
      };
    },

    async snapshotOnline(input) {
      const spec = b.specs.resolve(refOf(input));
      const state = load(spec.name);
      if (!state?.copy || state.frozen) return null;
      const copy = state.copy;
      const champion = b.registry.getVersion(spec.name, state.base);
      if (!champion.datasetId) throw new Error(`${spec.name} v${state.base} has no dataset to take a holdout from; the online snapshot cannot be judged`);
      const datasetDir = await b.data.localDataset(spec, { datasetId: champion.datasetId, datasetDir: path.join(b.settings.dataDir, 'datasets', spec.name, champion.datasetId) });
      const holdout = path.join(datasetDir, DATASET_FILES.holdout);
      const metricOf = async (uri: string, sha256: string) => {
        const result = await evaluate(await localFile(uri, sha256), holdout, spec, { sha256 });
        const value = result.metrics[spec.gates.metric];
        if (typeof value !== 'number') throw new Error(`${spec.name}: ${spec.gates.metric} is undefined on the holdout of dataset ${champion.datasetId}`);
        return value;
      };
      // The last good one on the same holdout: the champion itself before any snapshot was judged.
      const lastGoodMetric = state.lastGood.metric ?? (await metricOf(champion.artifactUri, champion.contentHash));
      const metric = await metricOf(copy.artifactUri, copy.sha256);
      const registered = await b.registry.registerVersion({
        model: spec.name,
        artifactUri: copy.artifactUri,
        contentHash: copy.sha256,
        metrics: { [spec.gates.metric]: metric },
        datasetId: champion.datasetId,
        referenceProfile: champion.referenceProfile,
        trainer: 'online',
        params: { base: state.base, updates: copy.updates, onlineVersion: copy.version, learningRate: spec.learning.learningRate, l2: spec.learning.l2 },
        costUsd: 0,
        workflowId: input.workflowId,
        runId: input.runId,
        idempotencyKey: `online:${spec.name}:${copy.version}:${copy.sha256}`,
      });
      afterEffect('snapshotOnline:registry', spec.name);
      const verdict = judgeSnapshot(spec.gates.metric, lastGoodMetric, metric, spec.learning.tolerance);
      const good = verdict.verdict !== 'worse';
      const entry = { version: registered.version, at: input.asOf, copy: copy.version, metric, verdict: good ? ('good' as const) : ('worse' as const) };
      save(spec.name, {
        ...state,
        championMetric: state.championMetric ?? (state.lastGood.metric === null ? lastGoodMetric : undefined),
        snapshots: [...(state.snapshots ?? []).filter((s) => s.version !== registered.version), entry].slice(-SNAPSHOT_HISTORY),
        lastSnapshotAt: input.asOf,
        lastGood: good ? { registryVersion: registered.version, copy, metric } : { ...state.lastGood, metric: lastGoodMetric },
      });
      return { ...verdict, verdict: verdict.verdict === 'first' ? 'good' : verdict.verdict, model: spec.name, version: registered.version, copy: copy.version, metric, lastGood: { registryVersion: state.lastGood.registryVersion, metric: lastGoodMetric } };
    },

    async freezeOnline(input) {
      const spec = b.specs.resolve(refOf(input));
      const state = load(spec.name);
      if (!state) throw new Error(`${spec.name} has no online learner to freeze`);
      const good = state.lastGood.copy;
      // Serving first, then the state: a retry after a lost reply finds the gateway already reset.
      if (good) await b.servingFor(spec.name).setOnline(spec.name, { version: good.version, artifactUri: good.artifactUri, sha256: good.sha256 });
      else await b.servingFor(spec.name).clearOnline(spec.name);
      afterEffect('freezeOnline:serving', spec.name);
      save(spec.name, { ...state, copy: good, frozen: state.frozen ?? { at: input.at, reason: input.reason, snapshotVersion: input.snapshotVersion } });
      return { resetTo: good ? good.version : `v${state.base} (the batch champion)` };
    },
  };
}
