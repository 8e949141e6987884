import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DAY, T0, prediction, tempLake, testSpec, type Lake } from './helpers.js';
import { withRevisions } from './label-rules.js';

/**
 * Matured labels by prediction age (issue 13), and only labels that join a served prediction
 * counting, one per request id by the revision rule (issue 15). Every model here has label.delay 1d.
 */
const HOUR = 3_600_000;
const at = (hours: number) => new Date(T0 + hours * HOUR);

describe('data lake: matured labels by prediction age, label coverage', () => {
  let lake: Lake;
  const exact = testSpec({ name: 'exact' });
  const spread = testSpec({ name: 'spread' });

  // "spread": a prediction every 30 min for 100 h; label lags spread over 0..48 h around the 24 h
  // delay; every fifth prediction never gets a label.
  const spreadPreds = Array.from({ length: 200 }, (_, i) => ({ i, ts: T0 + i * 30 * 60_000 }));
  const lagHours = (i: number) => (i * 37) % 49;
  const labelled = (i: number) => i % 5 !== 4;
  /** Expected coverage, counted directly from the fixture. */
  function expected(from: number, to: number, asOf: number) {
    const matured = spreadPreds.filter((p) => p.ts >= from && p.ts < to && p.ts <= asOf - DAY);
    const withLabel = matured.filter((p) => labelled(p.i) && p.ts + lagHours(p.i) * HOUR <= asOf);
    return { matured: matured.length, labelled: withLabel.length };
  }

  before(async () => {
    lake = tempLake();
    // "exact": a champion prediction every hour for 4 days, each labelled exactly one delay later.
    const hourly = Array.from({ length: 96 }, (_, i) => prediction(i, { variant: 'champion' }));
    await lake.backend.appendPredictions(exact, hourly);
    await lake.backend.appendLabels(exact, hourly.map((p, i) => ({ request_id: p.request_id, label: i % 2, label_ts: new Date((p.ts as Date).getTime() + DAY) })));

    await lake.backend.appendPredictions(spread, spreadPreds.map((p) => prediction(p.i, { ts: new Date(p.ts) })));
    await lake.backend.appendLabels(
      spread,
      spreadPreds.filter((p) => labelled(p.i)).map((p) => ({ request_id: `r${p.i}`, label: p.i % 3 === 0 ? 1 : 0, label_ts: new Date(p.ts + lagHours(p.i) * HOUR) })),
    );
  });
  after(() => lake.cleanup());

  it('sees a full window of labels on every hourly check when labels arrive exactly at the delay', async () => {
    // The monitor's query for a 24 h window at t: predictions that matured during it, [t - 48 h, t - 24 h].
    for (let t = 48; t <= 96; t += 4) {
      const m = await lake.backend.maturedLabels(exact, { from: at(t - 48), to: at(t), asOf: at(t), variant: 'champion' });
      assert.deepEqual([m.matured, m.labelled, m.count, m.coverage], [25, 25, 25, 1], `check at ${t} h`);
      // The newest matured prediction (t - 24 h) is judged with its label, which arrived exactly at t.
      assert.ok([...m.scores].includes(((t - 24) % 100) / 100));
    }
  });

  it('leaves a prediction out until it is one delay old, and a label out until it has arrived (asOf)', async () => {
    const t = at(72);
    const justBefore = new Date(t.getTime() - 1);
    const m = await lake.backend.maturedLabels(exact, { from: at(24), to: t, asOf: justBefore });
    // r48 (ts 48 h) is not matured 1 ms before 72 h, and its label (72 h) has not arrived.
    assert.deepEqual([m.matured, m.labelled], [24, 24]);
    assert.ok(![...m.scores].includes(0.48));
    const exactly = await lake.backend.maturedLabels(exact, { from: at(24), to: t, asOf: t });
    assert.deepEqual([exactly.matured, exactly.labelled], [25, 25]);
    // `to` still bounds the predictions (exclusive) when it comes before maturity.
    const bounded = await lake.backend.maturedLabels(exact, { from: at(24), to: at(30), asOf: at(90) });
    assert.deepEqual([bounded.matured, bounded.labelled, bounded.maturedBy.toISOString()], [6, 6, at(66).toISOString()]);
  });

  it('reports partial coverage with a spread of label delays', async () => {
    const t = T0 + 96 * HOUR;
    const m = await lake.backend.maturedLabels(spread, { from: new Date(t - 48 * HOUR), to: new Date(t), asOf: new Date(t), sliceBy: ['tenure'] });
    const want = expected(t - 48 * HOUR, t, t);
    assert.equal(want.matured, 49); // 48 h .. 72 h every 30 min, both ends
    assert.deepEqual([m.matured, m.labelled, m.count], [want.matured, want.labelled, want.labelled]);
    assert.ok(m.coverage > 0.5 && m.coverage < 0.8, `coverage ${m.coverage}`);
    assert.equal(m.coverage, want.labelled / want.matured);
    // Each label is the prediction's own: label = 1 exactly for i % 3 == 0 (tenure = i).
    const ids = [...(m.slices!.tenure as Float64Array)];
    ids.forEach((i, k) => assert.equal(m.labels[k], i % 3 === 0 ? 1 : 0));
    assert.ok(ids.every((i) => labelled(i) && spreadPreds[i].ts + lagHours(i) * HOUR <= t));
  });

  it('counts late labels in later checks of the same predictions', async () => {
    const [from, to] = [T0 + 48 * HOUR, T0 + 72 * HOUR];
    const seen: number[] = [];
    for (const asOf of [96, 104, 112, 120, 200].map((h) => T0 + h * HOUR)) {
      const m = await lake.backend.maturedLabels(spread, { from: new Date(from), to: new Date(to), asOf: new Date(asOf) });
      const want = expected(from, to, asOf);
      assert.equal(m.matured, 48, 'the same predictions: [48 h, 72 h) every 30 min');
      assert.deepEqual([m.matured, m.labelled], [want.matured, want.labelled], `as of ${(asOf - T0) / HOUR} h`);
      seen.push(m.labelled);
    }
    assert.ok(seen[0] < seen[1] && seen[1] < seen[2] && seen[2] < seen[3], `labels keep arriving: ${seen.join(', ')}`);
    // Every label (lag <= 48 h) has arrived by 120 h: all but the 9 predictions (i % 5 == 4) that never get one.
    assert.deepEqual([seen[3], seen[4]], [39, 39]);
  });

  it('reports zero coverage when matured predictions have no label file yet', async () => {
    const lonely = testSpec({ name: 'lonely' });
    await lake.backend.appendPredictions(lonely, [prediction(1), prediction(2)]);
    const m = await lake.backend.maturedLabels(lonely, { from: at(0), to: at(10), asOf: at(40) });
    assert.deepEqual([m.matured, m.labelled, m.count, m.coverage, m.revised], [2, 0, 0, 0, 0]);
    assert.deepEqual(m.variants, []);
  });
});

describe('data lake: only labels of served predictions count, the first label decides', () => {
  let lake: Lake;
  const spec = testSpec({ name: 'flips' }); // lookback 30d
  const last = withRevisions(spec, 'last');

  before(async () => {
    lake = tempLake();
    // p0..p9 served at 0..9 h; "ancient" served 40 days earlier (beyond the 30-day lookback).
    await lake.backend.appendPredictions(spec, [
      ...Array.from({ length: 10 }, (_, i) => prediction(i, { request_id: `p${i}`, variant: 'champion' })),
      prediction(500, { request_id: 'ancient', ts: new Date(T0 - 40 * DAY) }),
    ]);
    await lake.backend.appendLabels(spec, [
      // p0 is flipped three times, the last flip after the first check.
      { request_id: 'p0', label: 1, label_ts: at(24) },
      { request_id: 'p0', label: 0, label_ts: at(25) },
      { request_id: 'p0', label: 1, label_ts: at(26) },
      { request_id: 'p0', label: 0, label_ts: at(60) },
      // p1's label is resent unchanged: history, not a revision.
      { request_id: 'p1', label: 0, label_ts: at(25) },
      { request_id: 'p1', label: 0, label_ts: at(30) },
      // p2 gets two different labels at the same instant: the tie is broken by value, not by file order.
      { request_id: 'p2', label: 1, label_ts: at(26) },
      { request_id: 'p2', label: 0, label_ts: at(26) },
      // p3..p8 one label each at i + 24 h; p9's arrives at 48 h exactly.
      ...Array.from({ length: 6 }, (_, k) => ({ request_id: `p${k + 3}`, label: (k + 3) % 2, label_ts: at(k + 27) })),
      { request_id: 'p9', label: 1, label_ts: at(48) },
      { request_id: 'ancient', label: 1, label_ts: at(20) },
    ]);
    // 1,000 labels for request ids the gateway never issued.
    await lake.backend.appendLabels(spec, Array.from({ length: 1_000 }, (_, i) => ({ request_id: `ghost-${i}`, label: 1, label_ts: at(24 + (i % 30)) })));
  });
  after(() => lake.cleanup());

  it('decides each request by its first label, counts revised requests, and ignores labels after asOf', async () => {
    const m = await lake.backend.maturedLabels(spec, { from: at(0), to: at(24), asOf: at(48) });
    assert.deepEqual([m.matured, m.labelled, m.coverage, m.revised, m.revisionRule], [10, 10, 1, 2, 'first']);
    const byId = new Map([...m.scores].map((s, k) => [Math.round(s * 100), m.labels[k]]));
    assert.deepEqual([byId.get(0), byId.get(1), byId.get(2), byId.get(9)], [1, 0, 0, 1]);
    // Later flips never overwrite the first label.
    const later = await lake.backend.maturedLabels(spec, { from: at(0), to: at(24), asOf: at(100) });
    assert.equal(new Map([...later.scores].map((s, k) => [Math.round(s * 100), later.labels[k]])).get(0), 1);
    // p9's label arrived at 48 h exactly: not visible 1 ms before.
    const before = await lake.backend.maturedLabels(spec, { from: at(0), to: at(24), asOf: new Date(at(48).getTime() - 1) });
    assert.deepEqual([before.matured, before.labelled, before.coverage], [10, 9, 0.9]);
  });

  it('decides by the latest label that arrived by asOf with label.revisions last', async () => {
    const labelOf = async (asOf: Date, i: number) => {
      const r = await lake.backend.maturedLabels(last, { from: at(0), to: at(24), asOf });
      assert.deepEqual([r.revisionRule, r.revised], ['last', 2]);
      return new Map([...r.scores].map((s, k) => [Math.round(s * 100), r.labels[k]])).get(i);
    };
    assert.equal(await labelOf(at(48), 0), 1, 'the flip at 26 h; the one at 60 h has not arrived');
    assert.equal(await labelOf(at(72), 0), 0, 'the flip at 60 h');
    assert.equal(await labelOf(at(48), 2), 1, 'a tie goes to the higher label under last');
  });

  it('counts only newly labelled served requests toward the volume trigger', async () => {
    // 10 served requests labelled; 1,000 ghost labels, p0's flips, p1's resend and the label of a
    // prediction older than the lookback count nothing.
    assert.equal(await lake.backend.countNewLabels(spec, at(0)), 10);
    // First labelled after 25.5 h: p2 (26 h), p3..p8 (27..32 h), p9 (48 h). p0 (24 h) and p1 (25 h) were labelled before.
    assert.equal(await lake.backend.countNewLabels(spec, at(25.5)), 8);
    assert.equal(await lake.backend.countNewLabels(spec, at(25.5), { asOf: at(30) }), 5);
    assert.equal(await lake.backend.countNewLabels(spec, at(49)), 0, "p0's flip at 60 h is not a new labelled request");
  });

  it('shows a request label history with the deciding label', async () => {
    const h = await lake.backend.labelHistory(spec, 'p0');
    assert.deepEqual(
      h.labels.map((l) => [l.label, l.labelTs.getTime()]),
      [
        [1, at(24).getTime()],
        [0, at(25).getTime()],
        [1, at(26).getTime()],
        [0, at(60).getTime()],
      ],
    );
    assert.deepEqual([h.revisionRule, h.revised, h.decided], ['first', true, { label: 1, labelTs: at(24) }]);
    assert.deepEqual(h.predictions, [{ ts: at(0), variant: 'champion', modelVersion: 'v1' }]);
    assert.deepEqual((await lake.backend.labelHistory(last, 'p0')).decided, { label: 0, labelTs: at(60) });
    assert.deepEqual((await lake.backend.labelHistory(last, 'p0', { asOf: at(48) })).decided, { label: 1, labelTs: at(26) });
    assert.equal((await lake.backend.labelHistory(spec, 'p1')).revised, false);

    const ghost = await lake.backend.labelHistory(spec, 'ghost-7');
    assert.deepEqual([ghost.labels.length, ghost.predictions.length, ghost.decided], [1, 0, null]);
    // The id is data: quotes, a NUL byte and SQL text are just an id nobody used.
    const odd = await lake.backend.labelHistory(spec, "p0' OR '1'='1\u0000; DROP TABLE x; --");
    assert.deepEqual([odd.labels, odd.predictions, odd.decided], [[], [], null]);
    await assert.rejects(lake.backend.labelHistory(spec, ''), (err: Error) => err.name === 'DataInputError');
  });
});
