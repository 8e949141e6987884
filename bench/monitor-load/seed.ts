/** The bench's model file (N copies of the fraud model) and the seeding of their champions and recent traffic. */
import type { ServingBackend } from '../../src/backends/serving/gateway-client.js';
import { loadModel } from '../../src/backends/models/index.js';
import type { LabelRow, PredictionRow } from '../../src/backends/data/types.js';
import { openBackends, type Backends } from '../../src/activities/index.js';
import type { RetrainConfig } from '../../src/config/schema.js';
import { seedChampion } from '../../src/demo/seed.js';
import { createGenerator, driftPlan } from '../../src/demo/simulator/index.js';
import { FRAUD_FEATURES } from '../../src/demo/simulator/fraud.js';
import { DRIFT_EVERY, LABEL_AFTER_MS, logger, modelName, pool, PREDICTIONS_PER_MODEL, settingsFor, TRAFFIC_SPAN_MS } from './common.js';

/** The model file: N copies of the fraud model with small windows and an hourly cron half an hour away. */
export function configText(models: number, cronMinute: number): string {
  const model = (i: number) => ({
    name: modelName(i),
    description: 'bench copy of the fraud model',
    task: 'binary_classification',
    features: FRAUD_FEATURES.map((f) => ({ ...f })),
    label: { name: 'is_fraud', delay: '1h' },
    data: { monitorWindow: '2h', lookback: '30d' },
    serving: { entityKey: 'entity_id' },
    monitor: { cron: `${cronMinute} * * * *` },
    triggers: { drift: { minSamples: 200 }, performance: { minLabels: 200 }, cooldown: '24h' },
  });
  // YAML is a superset of JSON.
  return JSON.stringify({ version: 1, timeProfile: 'production', models: Array.from({ length: models }, (_, i) => model(i)) }, null, 1);
}

// ------------------------------------------------------------------ seeding
export async function seed(dir: string, config: RetrainConfig): Promise<{ seconds: number; trainSeconds: number; rows: number; labels: number }> {
  const t0 = performance.now();
  const settings = settingsFor(dir);
  const opened = openBackends({ config, settings, logger });
  // No gateway in this bench: deploying the champion is a no-op.
  const noGateway = { deployChampion: async () => undefined } as unknown as ServingBackend;
  const b: Backends = { ...opened, servingFor: () => noGateway };
  try {
    const [first, ...rest] = config.models;
    await seedChampion(b, first, { historyDays: 14, rowsPerDay: 500, logger });
    const trainSeconds = (performance.now() - t0) / 1000;
    const template = b.registry.resolve(first.name, 'champion')!;
    for (const spec of rest) {
      const v = await b.registry.registerVersion({
        model: spec.name,
        artifactUri: template.artifactUri,
        metrics: template.metrics,
        datasetId: template.datasetId ?? undefined,
        referenceProfile: template.referenceProfile,
        trainer: 'builtin',
        params: {},
        costUsd: 0,
        runId: 'bench-seed',
        idempotencyKey: `bench-seed:${spec.name}`,
      });
      b.registry.promote(spec.name, v.version, { actor: 'retrain:bench', reason: `bench: the champion of ${first.name}`, idempotencyKey: `bench-seed:${spec.name}:promote` });
    }

    const scorer = await loadModel(template.artifactUri);
    const now = Date.now();
    let rows = 0;
    let labels = 0;
    await pool(config.models, 4, async (spec, i) => {
      const drifted = i % DRIFT_EVERY === DRIFT_EVERY - 1;
      const g = createGenerator(spec, { seed: 1_000 + i, drift: driftPlan(drifted ? 'sudden' : 'none', 0) });
      const events = Array.from({ length: PREDICTIONS_PER_MODEL }, (_, k) => ({ ...g.sample(0), ts: now - TRAFFIC_SPAN_MS + Math.floor(((k + 0.5) * TRAFFIC_SPAN_MS) / PREDICTIONS_PER_MODEL) }));
      const scored = await scorer.predict(events.map((e) => e.features));
      const predictions: PredictionRow[] = events.map((e, k) => ({
        request_id: `${spec.name}-${k}`,
        ts: e.ts,
        model_version: '1',
        variant: 'champion',
        entity_id: e.entity_id,
        features: e.features,
        prediction: scored[k].prediction,
        score: scored[k].score,
        latency_ms: 1,
      }));
      // Labels arrive 5 min after their prediction; only those that have arrived by now exist.
      const arrived: LabelRow[] = events.filter((e) => e.ts + LABEL_AFTER_MS <= now).map((e) => ({ request_id: `${spec.name}-${events.indexOf(e)}`, label: e.label, label_ts: e.ts + LABEL_AFTER_MS }));
      await b.data.appendPredictions(spec, predictions);
      await b.data.appendLabels(spec, arrived);
      rows += predictions.length;
      labels += arrived.length;
    });
    await scorer.close();
    return { seconds: (performance.now() - t0) / 1000, trainSeconds, rows, labels };
  } finally {
    await b.close();
  }
}
