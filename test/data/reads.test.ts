import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DAY, T0, prediction, tempLake, testSpec, type Lake } from './helpers.js';

const HOUR = 3_600_000;
const spec = testSpec();

describe('data lake: window reads, matured labels, new labels', () => {
  let lake: Lake;

  before(async () => {
    lake = tempLake();
    // 48 hourly predictions over 2024-01-01 and 02, written in two batches (two files per day).
    const rows = Array.from({ length: 48 }, (_, i) => prediction(i));
    await lake.backend.appendPredictions(spec, rows.filter((_, i) => i % 2 === 0));
    await lake.backend.appendPredictions(spec, rows.filter((_, i) => i % 2 === 1));
    // Labels: even requests answered 6 h after the prediction, odd ones 30 h after.
    // r4 gets a second, later label that flips it: the first label decides (label.revisions: first).
    await lake.backend.appendLabels(spec, [
      ...rows.map((_, i) => ({ request_id: `r${i}`, label: i % 3 === 0 ? 1 : 0, label_ts: new Date(T0 + i * HOUR + (i % 2 === 0 ? 6 : 30) * HOUR) })),
      { request_id: 'r4', label: 1, label_ts: new Date(T0 + 4 * HOUR + 8 * HOUR) },
    ]);
  });
  after(() => lake.cleanup());

  it('reads the champion features in [from, to) with exact values and missing counts', async () => {
    const w = await lake.backend.readWindow(spec, { from: new Date(T0 + 12 * HOUR), to: new Date(T0 + DAY) });
    // i = 12..23 minus challengers (i % 4 == 3: 15, 19, 23)
    const expected = [12, 13, 14, 16, 17, 18, 20, 21, 22];
    assert.equal(w.rowCount, 9);
    assert.deepEqual([...(w.columns.tenure as Float64Array)].sort((a, b) => a - b), expected);
    const byTenure = new Map([...(w.columns.tenure as Float64Array)].map((t, k) => [t, k]));
    const spend = w.columns.spend as Float64Array;
    const plan = w.columns.plan as (string | null)[];
    assert.ok(spend instanceof Float64Array);
    assert.ok(Number.isNaN(spend[byTenure.get(20)!]), 'NULL spend comes back as NaN');
    assert.equal(spend[byTenure.get(13)!], 19.5);
    assert.equal(plan[byTenure.get(13)!], 'pro');
    assert.equal(plan[byTenure.get(14)!], 'team');
    assert.deepEqual(w.missing, { tenure: 0, spend: 1, plan: 0 });
    assert.equal(w.rowsWithMissingFeatures, 1);
    assert.equal(w.filesRead, 2, 'only the 2024-01-01 partition is read');
    assert.deepEqual(w.quarantined, []);
  });

  it('filters by variant, or reads all variants', async () => {
    const from = new Date(T0);
    const to = new Date(T0 + 2 * DAY);
    const challenger = await lake.backend.readWindow(spec, { from, to, variant: 'challenger' });
    assert.equal(challenger.rowCount, 12);
    assert.ok([...(challenger.columns.tenure as Float64Array)].every((t) => t % 4 === 3));
    const all = await lake.backend.readWindow(spec, { from, to, variant: 'all' });
    assert.equal(all.rowCount, 48);
    assert.equal(all.filesRead, 4);
    assert.equal(all.missing.spend, 5); // i = 0, 10, 20, 30, 40
  });

  it('gives zero rows with typed empty columns for a window without data', async () => {
    const w = await lake.backend.readWindow(spec, { from: new Date(T0 + 10 * DAY), to: new Date(T0 + 11 * DAY) });
    assert.equal(w.rowCount, 0);
    assert.equal(w.filesRead, 0);
    assert.ok(w.columns.tenure instanceof Float64Array);
    assert.equal(w.columns.tenure.length, 0);
    assert.deepEqual(w.columns.plan, []);
    const inPartition = await lake.backend.readWindow(spec, { from: new Date(T0 + 47.5 * HOUR), to: new Date(T0 + 48 * HOUR) });
    assert.equal(inPartition.rowCount, 0);
    assert.equal(inPartition.filesRead, 2);
  });

  it('judges predictions one delay old with every label that arrived by asOf; the first label decides', async () => {
    // asOf = 2024-01-03 00:00, delay 1d → predictions with ts <= 2024-01-02 00:00 are matured: all of
    // day 1 (i = 0..23), with labels that arrived by asOf (48 h): every even i (at i + 6 h) and odd i
    // with i + 30 <= 48 (i = 1..17, 9 rows).
    const asOf = new Date(T0 + 2 * DAY);
    const m = await lake.backend.maturedLabels(spec, { from: new Date(T0), to: new Date(T0 + DAY), asOf });
    assert.equal(m.maturedBy.toISOString(), '2024-01-02T00:00:00.000Z');
    assert.deepEqual([m.count, m.matured, m.labelled, m.coverage, m.revised, m.revisionRule], [21, 24, 21, 21 / 24, 1, 'first']);
    const rows = [...m.scores].map((s, k) => ({ i: Math.round(s * 100), label: m.labels[k], prediction: m.predictions[k], variant: m.variants![k] }));
    rows.sort((a, b) => a.i - b.i);
    assert.deepEqual(rows.map((r) => r.i), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 22]);
    assert.equal(rows.find((r) => r.i === 4)!.label, 0, 'r4 was relabelled later: the first label still decides');
    assert.equal(rows.find((r) => r.i === 6)!.label, 1);
    assert.equal(rows.find((r) => r.i === 2)!.label, 0);
    assert.ok(rows.every((r) => r.prediction === r.i % 2 && r.variant === (r.i % 4 === 3 ? 'challenger' : 'champion')));

    // One more day: every label of day 1 has arrived.
    const later = await lake.backend.maturedLabels(spec, { from: new Date(T0), to: new Date(T0 + DAY), asOf: new Date(T0 + 3 * DAY) });
    assert.deepEqual([later.count, later.matured, later.coverage], [24, 24, 1]);
  });

  it('filters matured labels by variant and returns slice columns', async () => {
    const m = await lake.backend.maturedLabels(spec, {
      from: new Date(T0),
      to: new Date(T0 + 2 * DAY),
      asOf: new Date(T0 + 5 * DAY),
      variant: 'challenger',
      sliceBy: ['plan', 'tenure'],
    });
    assert.equal(m.count, 12);
    assert.equal(m.variants, undefined);
    const tenure = [...(m.slices!.tenure as Float64Array)];
    assert.deepEqual([...tenure].sort((a, b) => a - b), [3, 7, 11, 15, 19, 23, 27, 31, 35, 39, 43, 47]);
    const plans = m.slices!.plan as string[];
    tenure.forEach((t, k) => assert.equal(plans[k], ['basic', 'pro', 'team'][t % 3]));
    tenure.forEach((t, k) => assert.equal(m.labels[k], t % 3 === 0 ? 1 : 0));
  });

  it('gives zero matured labels before any label has matured', async () => {
    const m = await lake.backend.maturedLabels(spec, { from: new Date(T0), to: new Date(T0 + DAY), asOf: new Date(T0 + 1 * HOUR), sliceBy: ['plan'] });
    assert.deepEqual([m.count, m.matured, m.labelled, m.coverage, m.filesRead], [0, 0, 0, 0, 0]);
    assert.equal(m.labels.length, 0);
    assert.deepEqual(m.slices, { plan: [] });
  });

  it('counts requests first labelled after a given time, once each, as of a time when given', async () => {
    // 49 label rows, 48 requests: r4's second label is not a new labelled request.
    assert.equal(await lake.backend.countNewLabels(spec, new Date(T0 - DAY)), 48);
    // First label after 2024-01-02 12:00: even i with i + 6 > 36 → i in 32..46 (8); odd i with i + 30 > 36 → i in 7..47 (21).
    assert.equal(await lake.backend.countNewLabels(spec, new Date(T0 + 36 * HOUR)), 29);
    assert.equal(await lake.backend.countNewLabels(spec, new Date(T0 + 30 * DAY)), 0);
    // As of 12 h: r0, r2, r4 and r6 (labelled at 6, 8, 10 and 12 h); a Date third argument is asOf too.
    assert.equal(await lake.backend.countNewLabels(spec, new Date(T0 - DAY), { asOf: new Date(T0 + 12 * HOUR) }), 4);
    assert.equal(await lake.backend.countNewLabels(spec, new Date(T0 - DAY), new Date(T0 + 12 * HOUR)), 4);
    assert.equal(await lake.backend.countNewLabels(spec, new Date(T0 + 12 * HOUR), new Date(T0 + 12 * HOUR)), 0);
  });

  it('refuses an inverted window with a DataInputError', async () => {
    await assert.rejects(
      lake.backend.readWindow(spec, { from: new Date(T0 + DAY), to: new Date(T0) }),
      (err: Error) => err.name === 'DataInputError' && /ends .* before it starts/.test(err.message),
    );
  });
});
