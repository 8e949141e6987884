import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LinearModel } from '../../src/backends/models/index.js';
import { SqliteRegistry } from '../../src/backends/registry/sqlite.js';
import { readParquetColumns } from '../../src/backends/training/index.js';
import { DataInputError } from '../../src/backends/data/types.js';
import { readExternalData } from '../../src/backends/training/external-data.js';
import { buildModelReference, IMPORTANCE_MAX_ROWS } from '../../src/backends/training/reference.js';
import { buildProfile, compareToProfile, type DriftProfile } from '../../src/drift/index.js';
import { normal, tempDir, uniform, writeParquet } from './fixtures.js';

/**
 * The reference a version is registered with: the training split's profile (as before) plus each
 * feature's permutation importance to the model, measured through the gateway's scoring path.
 * The label depends on x and on cat; noise is an irrelevant feature the model does not use, and
 * unread is declared in the spec but not read by the model at all.
 */
const SPEC = {
  task: 'binary_classification' as const,
  features: [
    { name: 'x', type: 'numerical' as const },
    { name: 'noise', type: 'numerical' as const },
    { name: 'cat', type: 'categorical' as const },
    { name: 'unread', type: 'numerical' as const },
  ],
  label: { name: 'y' },
};

const MODEL: LinearModel = {
  format: 'retrain-linear/v1',
  task: 'binary_classification',
  label: 'y',
  features: [
    { name: 'x', type: 'numerical', mean: 0, std: 1, impute: 0 },
    { name: 'noise', type: 'numerical', mean: 0, std: 1, impute: 0 },
    { name: 'cat', type: 'categorical', vocabulary: ['a', 'b'] },
  ],
  //       x    noise  a     b    <unknown>
  weights: [2.0, 0.0, 0.4, -0.4, 0],
  bias: 0,
  threshold: 0.5,
};

/** Rows i in [from, to): y ~ Bernoulli(sigmoid(2x ± 0.4)); noise is independent of everything. */
const rows = (from: number, to: number) => `
  SELECT x, noise, cat, unread,
    (CASE WHEN ${uniform(99)} < 1 / (1 + exp(-(2 * x + CASE cat WHEN 'a' THEN 0.4 ELSE -0.4 END))) THEN 1 ELSE 0 END)::DOUBLE AS y
  FROM (SELECT i, ${normal(1)} AS x, ${normal(2)} AS noise, CASE WHEN hash(i, 3) % 2 = 0 THEN 'a' ELSE 'b' END AS cat, ${normal(4)} AS unread
        FROM range(${from}, ${to}) t(i))`;

describe('buildModelReference', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let artifact: string;
  let trainParquet: string;
  let validationParquet: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir('reference'));
    artifact = path.join(dir, 'model.json');
    await writeFile(artifact, JSON.stringify(MODEL));
    trainParquet = path.join(dir, 'train.parquet');
    validationParquet = path.join(dir, 'validation.parquet');
    await writeParquet(trainParquet, rows(0, 8_000));
    await writeParquet(validationParquet, rows(8_000, 10_000));
  });
  after(() => cleanup());

  test('ranks the feature the label depends on above an irrelevant one, on the validation split', async () => {
    const profile = await buildModelReference(SPEC, { artifactPath: artifact, trainParquet, validationParquet });
    const imp = profile.importance!;
    assert.ok(imp, 'the profile records importance');
    assert.equal(imp.metric, 'neg_log_loss');
    assert.equal(imp.repeats, 3);
    assert.equal(imp.rows, 2_000);
    assert.equal(imp.split, 'validation');
    assert.deepEqual(Object.keys(imp.features), ['x', 'noise', 'cat', 'unread']);
    const f = imp.features;
    assert.ok(f.x.importance > 0.2, `x matters: ${f.x.importance}`);
    assert.ok(f.cat.importance > 0.005, `cat matters a little: ${f.cat.importance}`);
    assert.ok(f.x.importance > f.cat.importance && f.cat.importance > f.noise.importance, JSON.stringify(f));
    // A zero weight: shuffling noise cannot change a single score.
    assert.equal(f.noise.importance, 0);
    assert.equal(f.noise.share, 0);
    assert.deepEqual(f.unread, { importance: 0, share: 0, std: 0 });
    assert.ok(Math.abs(f.x.share + f.cat.share - 1) < 1e-12);
    assert.ok(f.x.share > 0.8);
    // The scores' isotonic calibration on the same rows, for the label-free estimate: non-decreasing, within [0, 1].
    const cal = profile.calibration!;
    assert.equal(cal.kind, 'isotonic');
    assert.deepEqual([cal.rows, cal.split], [2_000, 'validation']);
    assert.ok(cal.x.length === cal.y.length && cal.y.every((y, i) => y >= 0 && y <= 1 && (i === 0 || y >= cal.y[i - 1])), JSON.stringify(cal).slice(0, 200));
    // The baseline is the model's own log loss on those rows.
    assert.ok(imp.baseline! < 0 && imp.baseline! > -0.7, String(imp.baseline));
  });

  test('the profile is the one the training split always gave, and it is reproducible', async () => {
    const a = await buildModelReference(SPEC, { artifactPath: artifact, trainParquet, validationParquet });
    const b = await buildModelReference(SPEC, { artifactPath: `file://${artifact}`, trainParquet, validationParquet });
    assert.deepEqual(a, b);
    const data = await readParquetColumns(trainParquet, SPEC.features, 'y');
    const cat = data.columns.cat as { codes: Int32Array; dictionary: string[] };
    const expected = buildProfile(
      { ...data.columns, cat: Array.from(cat.codes, (c) => (c < 0 ? null : cat.dictionary[c])), y: data.label! },
      { features: SPEC.features, label: { name: 'y', type: 'binary' } },
    );
    const { importance, calibration, ...profile } = a;
    assert.ok(calibration);
    assert.ok(importance);
    assert.deepEqual(profile, expected);
    // A different seed shuffles differently: the numbers move, the ranking does not.
    const c = await buildModelReference(SPEC, { artifactPath: artifact, trainParquet, validationParquet, seed: 7 });
    assert.notEqual(c.importance!.features.x.importance, a.importance!.features.x.importance);
    assert.ok(c.importance!.features.x.importance > c.importance!.features.cat.importance);
  });

  test('without a validation file, a seeded sample of at most 5,000 training rows', async () => {
    const profile = await buildModelReference(SPEC, { artifactPath: artifact, trainParquet, validationParquet: path.join(dir, 'absent.parquet') });
    assert.equal(profile.importance!.split, 'train');
    assert.equal(profile.importance!.rows, IMPORTANCE_MAX_ROWS);
    assert.ok(profile.importance!.features.x.importance > profile.importance!.features.noise.importance);
    const none = await buildModelReference(SPEC, { artifactPath: artifact, trainParquet });
    assert.deepEqual(none.importance, profile.importance);
  });

  test('regression: negative RMSE', async () => {
    const spec = { task: 'regression' as const, features: SPEC.features.slice(0, 2), label: { name: 'v' } };
    const model: LinearModel = {
      format: 'retrain-linear/v1',
      task: 'regression',
      label: 'v',
      features: [{ name: 'x', type: 'numerical', mean: 0, std: 1, impute: 0 }],
      weights: [3],
      bias: 1,
    };
    const file = path.join(dir, 'regression.json');
    await writeFile(file, JSON.stringify(model));
    const data = path.join(dir, 'regression.parquet');
    await writeParquet(data, `SELECT x, noise, 1 + 3 * x + 0.1 * ${normal(9)} AS v FROM (SELECT i, ${normal(1)} AS x, ${normal(2)} AS noise FROM range(3000) t(i))`);
    const profile = await buildModelReference(spec, { artifactPath: file, trainParquet: data, validationParquet: data });
    const imp = profile.importance!;
    assert.equal(imp.metric, 'neg_rmse');
    assert.equal(profile.label?.labelType, 'numerical');
    // Shuffling x turns an RMSE of ~0.1 into ~3·sqrt(2) ≈ 4.2.
    assert.ok(imp.features.x.importance > 3.5 && imp.features.x.importance < 5, String(imp.features.x.importance));
    assert.equal(imp.features.noise.importance, 0);
    assert.equal(imp.features.x.share, 1);
  });

  test('a model whose features do not match the spec is refused', async () => {
    const wrong = path.join(dir, 'wrong.json');
    await writeFile(wrong, JSON.stringify({ ...MODEL, features: [{ name: 'x', type: 'categorical', vocabulary: ['a'] }, MODEL.features[1], MODEL.features[2]], weights: [0, 0, 0, 0, 0, 0] }));
    await assert.rejects(buildModelReference(SPEC, { artifactPath: wrong, trainParquet, validationParquet }), /feature "x" is categorical in the model but numerical in the spec/);
  });
});

describe('a profile without importance (built before it existed)', () => {
  test('still loads: from the registry, into drift comparison (and the registry takes a past createdAt)', async () => {
    const { dir, cleanup } = await tempDir('reference-old');
    try {
      const artifact = path.join(dir, 'model.json');
      await writeFile(artifact, JSON.stringify(MODEL));
      const x = Float64Array.from({ length: 500 }, (_, i) => Math.sin(i));
      const old: DriftProfile = buildProfile({ x, cat: Array.from({ length: 500 }, (_, i) => (i % 2 ? 'a' : 'b')) }, { features: [{ name: 'x', type: 'numerical' }, { name: 'cat', type: 'categorical' }] });
      assert.equal('importance' in old, false);
      const registry = new SqliteRegistry({ path: path.join(dir, 'registry.db') });
      try {
        const v = await registry.registerVersion({ model: 'old', artifactUri: artifact, metrics: {}, referenceProfile: old, trainer: 'builtin' });
        const stored = registry.getVersion('old', v.version).referenceProfile as DriftProfile;
        assert.equal(stored.importance, undefined);
        assert.deepEqual(stored, JSON.parse(JSON.stringify(old)));
        const report = compareToProfile(stored, { x, cat: Array.from({ length: 500 }, (_, i) => (i % 2 ? 'a' : 'b')) });
        assert.equal(report.features.length, 2);
        // A version trained elsewhere keeps its training time; one from the future is refused.
        const past = await registry.registerVersion({ model: 'old', artifactUri: artifact, metrics: {}, trainer: 'external', createdAt: new Date('2024-06-01T12:00:00Z') });
        assert.equal(past.createdAt, '2024-06-01T12:00:00.000Z');
        await assert.rejects(
          registry.registerVersion({ model: 'old', artifactUri: artifact, metrics: {}, trainer: 'external', createdAt: new Date(Date.now() + 3_600_000) }),
          /createdAt must be a valid time that is not in the future/,
        );
        assert.equal(registry.listVersions('old').length, 2);
      } finally {
        registry.close();
      }
    } finally {
      await cleanup();
    }
  });
});

describe('readExternalData (training data from outside the product)', () => {
  test('without a validation file, the latest 10% by ts (whatever the file order) is the validation split', async () => {
    const { dir, cleanup } = await tempDir('external');
    try {
      // 50 rows, ts in a shuffled order; labels as true/false text; one missing amount.
      const order = Array.from({ length: 50 }, (_, i) => (i * 17) % 50);
      const lines = ['id,ts,x,noise,cat,unread,y', ...order.map((k) => `r${k},2024-01-01T${String(Math.floor(k / 4)).padStart(2, '0')}:${String((k % 4) * 15).padStart(2, '0')}:00Z,${k === 3 ? '' : k},0,${k % 2 ? 'a' : 'b'},1,${k % 3 ? 'true' : 'false'}`)];
      const csv = path.join(dir, 'train.csv');
      await writeFile(csv, `${lines.join('\n')}\n`);
      const data = await readExternalData(SPEC, { trainingFile: csv, outDir: dir });
      assert.equal(data.trainRows, 50);
      assert.equal(data.validationRows, 5);
      assert.equal(data.validationSource, 'latest rows by ts');
      assert.equal(data.lastTrainingTs, '2024-01-01T12:15:00.000Z');
      const validation = await readParquetColumns(data.validationParquet, SPEC.features, 'y');
      assert.deepEqual([...(validation.columns.x as Float64Array)].sort((a, b) => a - b), [45, 46, 47, 48, 49]);
      const train = await readParquetColumns(data.trainParquet, SPEC.features, 'y');
      assert.equal(train.rowCount, 50);
      assert.equal((train.columns.x as Float64Array).filter(Number.isNaN).length, 1);
      assert.equal(train.label!.filter((v) => v === 1).length, order.filter((k) => k % 3).length);

      // JSON Lines: typed values; a number where a category belongs is refused, naming the column.
      const jsonl = path.join(dir, 'typed.jsonl');
      await writeFile(jsonl, order.map((k) => JSON.stringify({ x: k, noise: 0, cat: k, unread: 1, y: k % 2 })).join('\n'));
      await assert.rejects(readExternalData(SPEC, { trainingFile: jsonl, outDir: dir }), (err: unknown) => {
        assert.ok(err instanceof DataInputError);
        assert.match(err.message, /typed\.jsonl: wrong type: column cat is BIGINT, expected text \(categorical feature\)/);
        return true;
      });
    } finally {
      await cleanup();
    }
  });
});

/**
 * Seasonal allowances: 28 days of training rows, one a minute, with a weekly cycle in `weekly`
 * (its mean follows the weekday) and in the mix of `channel`, while `steady` has none. A monitor
 * window of a day sees one weekday, so a day's window drifts from the whole reference by the cycle
 * alone; the profile records that, per feature, for the monitor to add to its thresholds.
 */
describe('buildModelReference: seasonal allowances from a time-ordered training split', () => {
  const spec = {
    task: 'binary_classification' as const,
    features: [
      { name: 'weekly', type: 'numerical' as const },
      { name: 'steady', type: 'numerical' as const },
      { name: 'channel', type: 'categorical' as const },
    ],
    label: { name: 'y' },
    data: { monitorWindow: '1d' },
  };
  const model: LinearModel = {
    format: 'retrain-linear/v1', task: 'binary_classification', label: 'y',
    features: [
      { name: 'weekly', type: 'numerical', mean: 0, std: 1, impute: 0 },
      { name: 'steady', type: 'numerical', mean: 0, std: 1, impute: 0 },
      { name: 'channel', type: 'categorical', vocabulary: ['web', 'app'] },
    ],
    weights: [1, 1, 0.2, -0.2, 0], bias: 0, threshold: 0.5,
  };
  const rowsPerDay = 1_440;
  let dir: string;
  let cleanup: () => Promise<void>;
  let artifact: string;
  let trainParquet: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir('seasonal'));
    artifact = path.join(dir, 'model.json');
    await writeFile(artifact, JSON.stringify(model));
    trainParquet = path.join(dir, 'train.parquet');
    // Written in shuffled order: the allowance must come from ts, not from the file order.
    await writeParquet(trainParquet, `
      SELECT ts, weekly, steady, channel, (CASE WHEN ${uniform(99)} < 1 / (1 + exp(-(weekly + steady))) THEN 1 ELSE 0 END)::DOUBLE AS y
      FROM (SELECT i, TIMESTAMP '2024-01-01' + to_minutes(i::BIGINT) AS ts,
              2 * sin(2 * pi() * (i // ${rowsPerDay}) / 7) + ${normal(1)} AS weekly, ${normal(2)} AS steady,
              CASE WHEN ${uniform(3)} < 0.5 + 0.4 * cos(2 * pi() * (i // ${rowsPerDay}) / 7) THEN 'web' ELSE 'app' END AS channel
            FROM range(${28 * rowsPerDay}) t(i))
      ORDER BY hash(i, 5)`);
  });
  after(() => cleanup());

  test('a cycle the window sees part of gets an allowance; a feature without one gets about none', async () => {
    const profile = await buildModelReference(spec, { artifactPath: artifact, trainParquet });
    const s = profile.seasonality;
    assert.ok(s, 'the profile records seasonality');
    assert.equal(s.windowMs, 86_400_000);
    assert.ok(Math.abs(s.windowRows - rowsPerDay) <= 2, `a day held ${s.windowRows} rows`);
    assert.equal(s.features.weekly.statistic, 'psi');
    assert.equal(s.features.channel.statistic, 'jensen_shannon');
    // A day's mean sits up to 2 standard deviations from the whole reference's: PSI of several tenths.
    assert.ok(s.features.weekly.excess > 0.5, `weekly: ${JSON.stringify(s.features.weekly)}`);
    assert.ok(s.features.steady.excess < 0.02, `steady: ${JSON.stringify(s.features.steady)}`);
    assert.ok(s.features.channel.excess > 0.2, `channel: ${JSON.stringify(s.features.channel)}`);
    // Random windows carry only sampling noise, the same for both numerical features.
    assert.ok(Math.abs(s.features.weekly.random - s.features.steady.random) < 0.02);
  });

  test('no allowance without timestamps, or when the split spans fewer than four windows', async () => {
    const noTimes = path.join(dir, 'no-ts.parquet');
    await writeParquet(noTimes, `SELECT * EXCLUDE (ts) FROM read_parquet('${trainParquet}')`);
    assert.equal((await buildModelReference(spec, { artifactPath: artifact, trainParquet: noTimes })).seasonality, undefined);
    const short = await buildModelReference({ ...spec, data: { monitorWindow: '8d' } }, { artifactPath: artifact, trainParquet });
    assert.equal(short.seasonality, undefined, '28 days hold only 3.5 windows of 8 days');
    const { seasonality: _, ...withWindow } = await buildModelReference(spec, { artifactPath: artifact, trainParquet });
    const { seasonality: __, ...without } = await buildModelReference({ ...spec, data: undefined }, { artifactPath: artifact, trainParquet });
    assert.deepEqual(withWindow, without, 'the rest of the profile does not change');
  });
});
