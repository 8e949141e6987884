import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LakeDataBackend } from '../../src/backends/data/lake/index.js';
import { DataInputError } from '../../src/backends/data/types.js';
import { DAY, T0, prediction, query, tempLake, testSpec, type Lake } from './helpers.js';
import { withRevisions } from './label-rules.js';

const HOUR = 3_600_000;
const spec = testSpec(); // lookback 30d, validation 0.1, holdout 0.2, label delay 1d, label.revisions 'first' by default
/** The same model deciding relabelled requests by their latest label (label.revisions: last). */
const lastSpec = withRevisions(spec, 'last');
const asOf = new Date(T0 + 10 * DAY);

describe('data lake: dataset build', () => {
  let lake: Lake;

  before(async () => {
    lake = tempLake();
    const b = lake.backend;
    // 50 historical rows t0..t49 at T0 + i h, plus a training row for r30 that feedback will supersede.
    await b.appendTraining(
      spec,
      Array.from({ length: 50 }, (_, i) => ({ request_id: `t${i}`, ts: new Date(T0 + i * HOUR), features: { tenure: i, spend: i === 5 ? null : 1, plan: 'basic' }, label: 0 })),
    );
    await b.appendTraining(spec, [{ request_id: 'r30', ts: new Date(T0), features: { tenure: -1, spend: -1, plan: 'x' }, label: 1 }]);
    // 50 predictions r0..r49 at T0 + (50 + i) h; r20 also logged by the shadow; one prediction 40 days before asOf.
    const preds = Array.from({ length: 50 }, (_, i) => prediction(i, { ts: new Date(T0 + (50 + i) * HOUR), features: { tenure: 100 + i, spend: i, plan: 'pro' } }));
    await b.appendPredictions(spec, [...preds, { ...preds[20], variant: 'shadow' }]);
    await b.appendPredictions(spec, [prediction(999, { request_id: 'old', ts: new Date(asOf.getTime() - 40 * DAY) })]);
    // A prediction 12 h before asOf: younger than the label delay, so not matured even though its label came fast.
    await b.appendPredictions(spec, [prediction(998, { request_id: 'young', ts: new Date(asOf.getTime() - 12 * HOUR) })]);
    // Labels 2 h after each prediction (label = i % 2); r10 relabelled 3 h later; r48's label arrives after asOf;
    // a label for a request id no prediction was logged with.
    await b.appendLabels(spec, [
      ...preds.map((p, i) => ({ request_id: p.request_id, label: i % 2, label_ts: new Date(T0 + (52 + i) * HOUR) })).filter((l) => l.request_id !== 'r48'),
      { request_id: 'r10', label: 1, label_ts: new Date(T0 + 65 * HOUR) },
      { request_id: 'r48', label: 1, label_ts: new Date(asOf.getTime() + 12 * HOUR) },
      { request_id: 'young', label: 1, label_ts: new Date(asOf.getTime() - HOUR) },
      { request_id: 'ghost', label: 1, label_ts: new Date(T0 + 53 * HOUR) },
      { request_id: 'old', label: 1, label_ts: new Date(asOf.getTime() - 39 * DAY) },
    ]);
  });
  after(() => lake.cleanup());

  async function split(dir: string, name: string) {
    return query(`SELECT * FROM read_parquet('${path.join(dir, name)}') ORDER BY ts`);
  }

  it('builds time-ordered, deduplicated train/validation/holdout files with a full manifest', async () => {
    const ds = await lake.backend.buildDataset(spec, { asOf });
    assert.equal(ds.reused, false);
    assert.match(ds.datasetId, /^ds-[0-9a-f]{16}$/);
    assert.equal(ds.datasetDir, path.join(lake.dir, 'datasets', 'churn', ds.datasetId));
    assert.deepEqual(readdirSync(ds.datasetDir).sort(), ['holdout.parquet', 'manifest.json', 'train.parquet', 'validation.parquet']);

    // 50 training + 49 matured predictions (r48's label after asOf, "young" not matured, "old" outside the lookback) = 99 rows.
    assert.deepEqual(ds.rowCounts, { train: 69, validation: 10, holdout: 20 });
    assert.equal(ds.duplicatesDropped, 3); // r30's training row, r20's shadow copy, r10's later label
    assert.deepEqual([ds.labelRevisions, ds.labelsRevised], ['first', 1]);

    const train = await split(ds.datasetDir, 'train.parquet');
    const validation = await split(ds.datasetDir, 'validation.parquet');
    const holdout = await split(ds.datasetDir, 'holdout.parquet');
    assert.deepEqual(Object.keys(train[0]), ['request_id', 'ts', 'tenure', 'spend', 'plan', 'churned']);
    assert.deepEqual([train.length, validation.length, holdout.length], [69, 10, 20]);
    const t = (rows: Record<string, unknown>[], k: number) => (rows.at(k)!.ts as Date).getTime();
    assert.ok(t(train, -1) < t(validation, 0) && t(validation, -1) < t(holdout, 0), 'train < validation < holdout in time');
    assert.equal(t(validation, 0), T0 + (50 + 19) * HOUR);
    assert.equal(t(holdout, 0), T0 + (50 + 29) * HOUR);
    assert.deepEqual(holdout.map((r) => r.request_id).slice(-2), ['r47', 'r49']);

    const all = [...train, ...validation, ...holdout];
    const ids = all.map((r) => r.request_id);
    assert.equal(new Set(ids).size, 99, 'one row per request_id');
    assert.ok(!ids.includes('r48') && !ids.includes('old') && !ids.includes('young') && !ids.includes('ghost'));
    const byId = new Map(all.map((r) => [r.request_id, r]));
    assert.equal(byId.get('r10')!.churned, 0, 'the first label wins; the later one is history');
    assert.equal(byId.get('r11')!.churned, 1);
    assert.equal(byId.get('r12')!.churned, 0);
    assert.deepEqual(byId.get('r30'), { request_id: 'r30', ts: new Date(T0 + 80 * HOUR), tenure: 130, spend: 30, plan: 'pro', churned: 0 });
    assert.deepEqual(byId.get('t7'), { request_id: 't7', ts: new Date(T0 + 7 * HOUR), tenure: 7, spend: 1, plan: 'basic', churned: 0 });

    const manifest = JSON.parse(readFileSync(path.join(ds.datasetDir, 'manifest.json'), 'utf8'));
    // Files after pruning: training 3 + 1; predictions 3 ("old" is outside the lookback, "young"'s
    // file is not matured); labels 2023-12-03, 2024-01-03/04/05 and 2024-01-10 ("young"'s label
    // arrived by asOf; r48's, on 2024-01-11, after it).
    assert.equal(manifest.sourceFiles.length, 12);
    assert.deepEqual(
      { ...manifest, createdAt: undefined, sourceFiles: undefined, contentHash: undefined },
      {
        datasetId: ds.datasetId,
        model: 'churn',
        asOf: '2024-01-11T00:00:00.000Z',
        lookback: '30d',
        source: 'both',
        timeRange: { from: '2023-12-12T00:00:00.000Z', to: '2024-01-11T00:00:00.000Z' },
        predictionsMaturedBy: '2024-01-10T00:00:00.000Z',
        labelsArrivedBy: '2024-01-11T00:00:00.000Z',
        labelRevisions: 'first',
        labelsRevised: 1,
        fractions: { validation: 0.1, holdout: 0.2 },
        splitBoundaries: { validationFrom: '2024-01-03T21:00:00.000Z', holdoutFrom: '2024-01-04T07:00:00.000Z' },
        rowCounts: { train: 69, validation: 10, holdout: 20 },
        rowsWithMissingFeatures: 1, // t5 has no spend
        missingValues: { tenure: 0, spend: 1, plan: 0 },
        duplicatesDropped: 3,
        files: { train: 'train.parquet', validation: 'validation.parquet', holdout: 'holdout.parquet' },
        schema: [
          { name: 'request_id', type: 'VARCHAR' },
          { name: 'ts', type: 'TIMESTAMP' },
          { name: 'tenure', type: 'DOUBLE' },
          { name: 'spend', type: 'DOUBLE' },
          { name: 'plan', type: 'VARCHAR' },
          { name: 'churned', type: 'DOUBLE' },
        ],
        labelColumn: 'churned',
        features: [
          { name: 'tenure', type: 'numerical' },
          { name: 'spend', type: 'numerical' },
          { name: 'plan', type: 'categorical' },
        ],
        sourceFiles: undefined,
        createdAt: undefined,
        contentHash: undefined,
      },
    );
    assert.ok(manifest.sourceFiles.every((f: { path: string; bytes: number }) => /^(training|predictions|labels)\/date=\d{4}-\d{2}-\d{2}\/.+\.parquet$/.test(f.path) && f.bytes > 0));
    const hash = createHash('sha256');
    for (const f of ['train.parquet', 'validation.parquet', 'holdout.parquet']) hash.update(readFileSync(path.join(ds.datasetDir, f)));
    assert.equal(manifest.contentHash, `sha256:${hash.digest('hex')}`);
  });

  it('returns the same dataset for the same inputs without rebuilding, in this process or another', async () => {
    const first = await lake.backend.buildDataset(spec, { asOf });
    const manifestFile = path.join(first.datasetDir, 'manifest.json');
    const mtime = statSync(manifestFile).mtimeMs;
    const again = await lake.backend.buildDataset(spec, { asOf });
    assert.equal(again.datasetId, first.datasetId);
    assert.equal(again.reused, true);
    assert.equal(again.createdAt, first.createdAt);
    assert.equal(statSync(manifestFile).mtimeMs, mtime, 'not rewritten');

    const other = new LakeDataBackend({ dataDir: lake.dir, threads: 1 }); // e.g. a retried activity on another worker
    try {
      const retried = await other.buildDataset(spec, { asOf });
      assert.deepEqual([retried.datasetId, retried.reused], [first.datasetId, true]);
    } finally {
      await other.close();
    }
    assert.equal(readdirSync(path.dirname(first.datasetDir)).length, 1, 'no temp folders left behind');
  });

  it('decides relabelled requests by the configured rule: the latest label with label.revisions last', async () => {
    const first = await lake.backend.buildDataset(spec, { asOf });
    const last = await lake.backend.buildDataset(lastSpec, { asOf });
    assert.notEqual(last.datasetId, first.datasetId, 'the rule is part of the id');
    assert.deepEqual([last.labelRevisions, last.labelsRevised, last.duplicatesDropped], ['last', 1, 3]);
    assert.deepEqual(last.rowCounts, first.rowCounts);
    const r10 = await query(`SELECT churned FROM read_parquet('${last.datasetDir}/*.parquet') WHERE request_id = 'r10'`);
    assert.deepEqual(r10, [{ churned: 1 }]);
  });

  it('trains on every label that arrived by asOf, however late, for predictions at least one delay old', async () => {
    // At asOf + 1 d, r48's label (asOf + 12 h) has arrived: r48 joins. "young" (asOf - 12 h) is
    // matured too; its label arrived at asOf - 1 h.
    const ds = await lake.backend.buildDataset(spec, { asOf: new Date(asOf.getTime() + DAY) });
    const ids = (await query(`SELECT request_id FROM read_parquet('${ds.datasetDir}/*.parquet')`)).map((r) => r.request_id);
    assert.ok(ids.includes('r48') && ids.includes('young'));
    assert.equal(ids.length, 101);
    assert.deepEqual([ds.predictionsMaturedBy, ds.labelsArrivedBy], ['2024-01-11T00:00:00.000Z', '2024-01-12T00:00:00.000Z']);
  });

  it('keeps the id when only rows after asOf arrive, as on an activity retry', async () => {
    const midDay = new Date(asOf.getTime() + 12 * HOUR); // 2024-01-11T12:00: predictions matured by 2024-01-10T12:00
    const first = await lake.backend.buildDataset(spec, { asOf: midDay });
    // Same partitions, later rows: a prediction and a label after asOf.
    await lake.backend.appendPredictions(spec, [prediction(500, { ts: new Date(midDay.getTime() + HOUR) })]);
    await lake.backend.appendLabels(spec, [{ request_id: 'r49', label: 0, label_ts: new Date(midDay.getTime() + HOUR) }]);
    const retried = await lake.backend.buildDataset(spec, { asOf: midDay });
    assert.deepEqual([retried.datasetId, retried.reused], [first.datasetId, true]);
  });

  it('gives a new id when the inputs change (new files, other asOf or source)', async () => {
    const base = await lake.backend.buildDataset(spec, { asOf });
    const trainingOnly = await lake.backend.buildDataset(spec, { asOf, source: 'training' });
    assert.notEqual(trainingOnly.datasetId, base.datasetId);
    assert.equal(trainingOnly.rowCounts.train + trainingOnly.rowCounts.validation + trainingOnly.rowCounts.holdout, 51);
    const feedbackOnly = await lake.backend.buildDataset(spec, { asOf, source: 'feedback' });
    assert.equal(feedbackOnly.rowCounts.train + feedbackOnly.rowCounts.validation + feedbackOnly.rowCounts.holdout, 49);

    const later = await lake.backend.buildDataset(spec, { asOf: new Date(asOf.getTime() + HOUR) });
    assert.notEqual(later.datasetId, base.datasetId);

    // r3 (labelled 1 at T0 + 55 h) is relabelled 0: a new input, but the first label still decides.
    await lake.backend.appendLabels(spec, [{ request_id: 'r3', label: 0, label_ts: new Date(T0 + 60 * HOUR) }]);
    const relabelled = await lake.backend.buildDataset(spec, { asOf });
    assert.notEqual(relabelled.datasetId, base.datasetId);
    assert.equal(relabelled.reused, false);
    assert.equal(relabelled.labelsRevised, 2);
    const rows = await query(`SELECT churned FROM read_parquet('${relabelled.datasetDir}/*.parquet') WHERE request_id = 'r3'`);
    assert.deepEqual(rows, [{ churned: 1 }]);
    const byLast = await lake.backend.buildDataset(lastSpec, { asOf });
    assert.deepEqual(await query(`SELECT churned FROM read_parquet('${byLast.datasetDir}/*.parquet') WHERE request_id = 'r3'`), [{ churned: 0 }]);
  });

  it('builds once when two workers race on the same inputs', async () => {
    const racingAsOf = new Date(asOf.getTime() + 2 * HOUR);
    const other = new LakeDataBackend({ dataDir: lake.dir, threads: 1 });
    try {
      const [a, b] = await Promise.all([lake.backend.buildDataset(spec, { asOf: racingAsOf }), other.buildDataset(spec, { asOf: racingAsOf })]);
      assert.equal(a.datasetId, b.datasetId);
      assert.equal(a.contentHash, b.contentHash, 'both report the folder that won');
      assert.ok(!(a.reused && b.reused), 'at least one of them built it');
    } finally {
      await other.close();
    }
    const folders = readdirSync(path.join(lake.dir, 'datasets', 'churn'));
    assert.ok(folders.every((f) => f.startsWith('ds-')), `no temp folders left: ${folders.join(', ')}`);
  });

  it('keeps features whose names look like internal columns (date, h, split)', async () => {
    const odd = testSpec({
      name: 'odd',
      features: [
        { name: 'date', type: 'categorical' },
        { name: 'h', type: 'numerical' },
        { name: 'split', type: 'numerical' },
      ],
    });
    const other = tempLake();
    try {
      await other.backend.appendTraining(
        odd,
        Array.from({ length: 10 }, (_, i) => ({ request_id: `o${i}`, ts: new Date(T0 + i * HOUR), features: { date: `d${i}`, h: i, split: -i }, label: i % 2 })),
      );
      const ds = await other.backend.buildDataset(odd, { asOf: new Date(T0 + DAY) });
      const rows = await query(`SELECT * FROM read_parquet('${ds.datasetDir}/*.parquet') ORDER BY h`);
      assert.deepEqual(Object.keys(rows[0]), ['request_id', 'ts', 'date', 'h', 'split', 'churned']);
      assert.deepEqual(rows[3], { request_id: 'o3', ts: new Date(T0 + 3 * HOUR), date: 'd3', h: 3, split: -3, churned: 1 });
    } finally {
      await other.cleanup();
    }
  });

  it('refuses to build an empty dataset with a DataInputError', async () => {
    await assert.rejects(lake.backend.buildDataset(spec, { asOf: new Date(T0 - 60 * DAY) }), (err: Error) => {
      assert.ok(err instanceof DataInputError);
      assert.match(err.message, /no labelled rows for model churn with ts in \[2023-10-03T00:00:00.000Z, 2023-11-02T00:00:00.000Z\)/);
      return true;
    });
  });
});
