import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { PredictionRow, ServingErrorRow, Variant } from '../../src/backends/data/types.js';
import { DAY, T0, prediction, tempLake, testSpec, type Lake } from './helpers.js';
import { withRevisions } from './label-rules.js';

/**
 * servedEvidence (what a canary analysis judges from): per-variant requests, errors, latency
 * quantiles, labels by asOf, accuracy, score histograms and shadow agreement, all from the lake.
 * Every expected number below is worked out by hand from the fixture.
 */
const HOUR = 3_600_000;
const at = (hours: number) => new Date(T0 + hours * HOUR);
const here = path.dirname(fileURLToPath(import.meta.url));

/** numpy.quantile's default (linear): h = (n - 1) q between the two order statistics around it. */
function numpyQuantile(values: number[], q: number): number {
  const x = [...values].sort((a, b) => a - b);
  const h = (x.length - 1) * q;
  const lo = Math.floor(h);
  return lo + 1 < x.length ? x[lo] + (h - lo) * (x[lo + 1] - x[lo]) : x[lo];
}

const served = (id: string, hours: number, variant: Variant, version: string, p: number, score: number, latency: number): PredictionRow =>
  prediction(1, { request_id: id, ts: at(hours), variant, model_version: version, prediction: p, score, latency_ms: latency });
const failed = (id: string, hours: number, variant: Variant, version: string, latency = 3): ServingErrorRow => ({
  request_id: id,
  ts: at(hours),
  model_version: version,
  variant,
  latency_ms: latency,
  reason: 'scorer failed: boom',
});

describe('data lake: served evidence of a canary step', () => {
  let lake: Lake;
  const spec = testSpec({ name: 'canary' });
  const from = at(10);
  const to = at(20);
  const asOf = at(30);
  const versions = { champion: 'v1', challenger: 'v2' };

  // Champion v1: c1..c6 in [10 h, 20 h); c0 before, c7 at `to` (exclusive); cOld of another version.
  const champion = [
    served('c1', 11, 'champion', 'v1', 1, 0.9, 2),
    served('c2', 12, 'champion', 'v1', 0, 0.1, 4),
    served('c3', 13, 'champion', 'v1', 1, 0.65, 6),
    served('c4', 14, 'champion', 'v1', 0, 0.3, 8),
    served('c5', 15, 'champion', 'v1', 1, 0.55, 10),
    served('c6', 16, 'champion', 'v1', 0, 0.45, 100),
  ];
  const championLatencies = [2, 4, 6, 8, 10, 100];
  const challenger = [
    served('h1', 11.5, 'challenger', 'v2', 1, 0.8, 20),
    served('h2', 12.5, 'challenger', 'v2', 1, 0.7, 30),
    served('h3', 13.5, 'challenger', 'v2', 0, 0.2, 40),
    served('h4', 14.5, 'challenger', 'v2', 0, 0.05, 50),
  ];
  const challengerLatencies = [20, 30, 40, 50];
  // The shadow scored c1..c3 too (same request ids): agrees with the champion on c1 and c3.
  const shadow = [served('c1', 11, 'shadow', 'v3', 1, 0.95, 5), served('c2', 12, 'shadow', 'v3', 1, 0.6, 5), served('c3', 13, 'shadow', 'v3', 1, 0.7, 5)];

  before(async () => {
    lake = tempLake();
    await lake.backend.appendPredictions(spec, [
      ...champion,
      ...challenger,
      ...shadow,
      served('c0', 9, 'champion', 'v1', 1, 0.9, 1),
      served('c7', 20, 'champion', 'v1', 1, 0.9, 1),
      served('cOld', 10.5, 'champion', 'v0', 1, 0.5, 12),
    ]);
    await lake.backend.appendServingErrors(spec, [
      failed('h5', 15.5, 'challenger', 'v2'),
      failed('h6', 16.5, 'challenger', 'v2'),
      failed('h7', 10.2, 'challenger', 'v9'), // another version
      failed('h8', 25, 'challenger', 'v2'), // after the range
      failed('c9', 17, 'champion', 'v1'),
      failed('c8', 17.5, 'shadow', 'v3'),
    ]);
    await lake.backend.appendLabels(spec, [
      { request_id: 'c1', label: 1, label_ts: at(21) },
      // Revised: 1 first, 0 later; 'first' decides 1, 'last' decides 0.
      { request_id: 'c2', label: 1, label_ts: at(22) },
      { request_id: 'c2', label: 0, label_ts: at(23) },
      { request_id: 'c3', label: 0, label_ts: at(31) }, // arrives after asOf: not counted
      { request_id: 'c4', label: 0, label_ts: at(25) },
      { request_id: 'c6', label: 1, label_ts: at(29) },
      { request_id: 'h1', label: 1, label_ts: at(21) },
      { request_id: 'h2', label: 0, label_ts: at(22) },
      { request_id: 'h3', label: 0, label_ts: asOf }, // exactly at asOf: counted
      { request_id: 'nobody', label: 1, label_ts: at(21) },
    ]);
  });
  after(() => lake.cleanup());

  it('counts requests, errors, labels and correct answers per variant, and the exact latency quantiles', async () => {
    const e = await lake.backend.servedEvidence(spec, { from, to, asOf, versions, scoreBins: 4 });
    assert.deepEqual([e.from, e.to, e.asOf], [from.toISOString(), to.toISOString(), asOf.toISOString()]);
    assert.deepEqual(e.quarantined, []);

    const c = e.variants.champion;
    assert.deepEqual([c.version, c.requests, c.errors, c.labelled, c.correct], ['v1', 7, 1, 4, 2]);
    // numpy: quantile([2, 4, 6, 8, 10, 100], 0.5) = 7, 0.99 → 10 + 0.95 × 90 = 95.5 (to rounding).
    assert.equal(c.latencyMs!.p50, 7);
    assert.ok(Math.abs(c.latencyMs!.p99 - 95.5) < 1e-9);
    assert.equal(c.latencyMs!.p50, numpyQuantile(championLatencies, 0.5));
    assert.ok(Math.abs(c.latencyMs!.p99 - numpyQuantile(championLatencies, 0.99)) < 1e-9);
    // The p99's bracket for the canary's confidence bounds.
    assert.ok(Math.abs(c.latencyMs!.p98 - numpyQuantile(championLatencies, 0.98)) < 1e-9 && Math.abs(c.latencyMs!.p995 - numpyQuantile(championLatencies, 0.995)) < 1e-9);
    assert.ok(Math.abs(c.latencyMs!.mean - 130 / 6) < 1e-9);
    assert.deepEqual([c.absErrorSum, c.squaredErrorSum], [0, 0], 'binary: no regression sums');

    const h = e.variants.challenger;
    assert.deepEqual([h.version, h.requests, h.errors, h.labelled, h.correct], ['v2', 6, 2, 3, 2]);
    assert.equal(h.latencyMs!.p50, 35);
    assert.ok(Math.abs(h.latencyMs!.p99 - 49.7) < 1e-9);
    assert.ok(Math.abs(h.latencyMs!.p99 - numpyQuantile(challengerLatencies, 0.99)) < 1e-9);
    assert.equal(h.latencyMs!.mean, 35);

    // No version asked for the shadow: any version.
    const s = e.variants.shadow;
    assert.deepEqual([s.version, s.requests, s.errors, s.labelled, s.correct], ['v3', 4, 1, 2, 2]);
    assert.deepEqual(s.latencyMs, { p50: 5, p99: 5, mean: 5, p98: 5, p995: 5 });
    assert.deepEqual(e.shadowPairs, { paired: 3, agreed: 2 });
  });

  it('bins scores on shared edges', async () => {
    const e = await lake.backend.servedEvidence(spec, { from, to, asOf, versions, scoreBins: 4 });
    assert.deepEqual(e.scoreEdges, [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(e.variants.champion.scoreHistogram, [1, 2, 2, 1]); // 0.1 | 0.3 0.45 | 0.55 0.65 | 0.9
    assert.deepEqual(e.variants.challenger.scoreHistogram, [2, 0, 1, 1]); // 0.05 0.2 | | 0.7 | 0.8
    assert.deepEqual(e.variants.shadow.scoreHistogram, [0, 0, 2, 1]); // 0.6 0.7 | 0.95
    const byDefault = await lake.backend.servedEvidence(spec, { from, to, asOf, versions });
    assert.equal(byDefault.scoreEdges.length, 21);
    assert.equal(byDefault.variants.champion.scoreHistogram.length, 20);
    assert.equal(
      byDefault.variants.champion.scoreHistogram.reduce((a, b) => a + b, 0),
      6,
    );
  });

  it('takes every version of a variant without a filter; the revision rule decides a revised label', async () => {
    const all = await lake.backend.servedEvidence(spec, { from: from.toISOString(), to: to.getTime(), asOf });
    // cOld (v0) joins the champion; h7 (v9) the challenger's errors. The latest champion row is v1.
    assert.deepEqual([all.variants.champion.version, all.variants.champion.requests], ['v1', 8]);
    assert.deepEqual([all.variants.challenger.version, all.variants.challenger.requests, all.variants.challenger.errors], ['v2', 7, 3]);
    const old = await lake.backend.servedEvidence(spec, { from, to, asOf, versions: { champion: 'v0' } });
    assert.deepEqual([old.variants.champion.version, old.variants.champion.requests, old.variants.champion.errors], ['v0', 1, 0]);
    assert.deepEqual(old.shadowPairs, { paired: 0, agreed: 0 }, 'no v0 champion row was shadowed');

    const last = await lake.backend.servedEvidence(withRevisions(spec, 'last'), { from, to, asOf, versions });
    assert.equal(last.variants.champion.correct, 3, "c2's later label 0 decides: prediction 0 is right");
    assert.equal(last.variants.shadow.correct, 1, "the shadow's 1 for c2 is now wrong");
    // An earlier asOf: the labels of c6 (29 h) and h3 (30 h) have not arrived.
    const earlier = await lake.backend.servedEvidence(spec, { from, to, asOf: at(28), versions });
    assert.deepEqual([earlier.variants.champion.labelled, earlier.variants.challenger.labelled], [3, 2]);
  });

  it('gives zeros for an empty range, not an error; refuses a range that ends before it starts', async () => {
    for (const range of [
      { from: at(100), to: at(110) },
      { from, to: from },
    ]) {
      const e = await lake.backend.servedEvidence(spec, { ...range, asOf, versions });
      for (const variant of ['champion', 'challenger', 'shadow'] as const) {
        const v = e.variants[variant];
        assert.deepEqual(
          { ...v, scoreHistogram: v.scoreHistogram.every((n) => n === 0) },
          {
            version: variant === 'shadow' ? null : versions[variant],
            requests: 0,
            errors: 0,
            latencyMs: null,
            labelled: 0,
            correct: 0,
            absErrorSum: 0,
            squaredErrorSum: 0,
            scoreHistogram: true,
          },
        );
      }
      assert.deepEqual(e.shadowPairs, { paired: 0, agreed: 0 });
    }
    const none = await lake.backend.servedEvidence(testSpec({ name: 'never-served' }), { from, to, asOf });
    assert.equal(none.variants.champion.requests, 0);
    await assert.rejects(lake.backend.servedEvidence(spec, { from: to, to: from, asOf }), /ends .* before it starts/);
    await assert.rejects(lake.backend.servedEvidence(spec, { from, to, asOf, versions: { canary: 'v1' } as never }), /unknown variant "canary"/);
    await assert.rejects(lake.backend.servedEvidence(spec, { from, to, asOf, scoreBins: 0 }), /scoreBins must be an integer/);
  });

  it('regression: absolute and squared errors, bins between the lowest and highest score, relative shadow agreement', async () => {
    const reg = testSpec({ name: 'prices', task: 'regression' });
    await lake.backend.appendPredictions(reg, [
      served('p1', 11, 'champion', 'v1', 1, 1, 1),
      served('p2', 12, 'champion', 'v1', 2, 2, 1),
      served('p3', 13, 'champion', 'v1', 4, 4, 1),
      served('q1', 14, 'challenger', 'v2', 3, 3, 1),
      served('q2', 15, 'challenger', 'v2', 5, 5, 1),
      served('p2', 12, 'shadow', 'v3', 2 + 1e-12, 2 + 1e-12, 1),
      served('p3', 13, 'shadow', 'v3', 4.001, 4.001, 1),
    ]);
    await lake.backend.appendLabels(reg, [
      { request_id: 'p1', label: 1.5, label_ts: at(21) },
      { request_id: 'p2', label: 2, label_ts: at(21) },
      { request_id: 'p3', label: 1, label_ts: at(21) },
    ]);
    const e = await lake.backend.servedEvidence(reg, { from, to, asOf, scoreBins: 4 });
    const c = e.variants.champion;
    assert.deepEqual([c.labelled, c.correct, c.absErrorSum, c.squaredErrorSum], [3, 0, 3.5, 9.25]);
    assert.deepEqual(e.scoreEdges, [1, 2, 3, 4, 5]);
    assert.deepEqual(c.scoreHistogram, [1, 1, 0, 1]);
    assert.deepEqual(e.variants.challenger.scoreHistogram, [0, 0, 1, 1], 'the highest score lands in the last bin');
    assert.deepEqual(e.variants.shadow.scoreHistogram, [0, 1, 0, 1]);
    assert.deepEqual(e.shadowPairs, { paired: 2, agreed: 1 }, '2 + 1e-12 agrees with 2; 4.001 does not with 4');

    const single = await lake.backend.servedEvidence(reg, { from: at(11), to: at(12), asOf });
    assert.deepEqual(single.scoreEdges, [1, 1], 'a single value: one bin');
    assert.deepEqual(single.variants.champion.scoreHistogram, [1]);
    assert.deepEqual(single.variants.challenger.scoreHistogram, [0]);
  });

  it('refuses a serving error row whose reason is too long or holds a control character', async () => {
    await assert.rejects(lake.backend.appendServingErrors(spec, [{ ...failed('z1', 11, 'champion', 'v1'), reason: 'x'.repeat(201) }]), /row 0: reason: expected at most 200 characters, got 201/);
    await assert.rejects(lake.backend.appendServingErrors(spec, [{ ...failed('z1', 11, 'champion', 'v1'), reason: 'two\nlines' }]), /row 0: reason: contains a control character/);
    await assert.rejects(lake.backend.importFile(spec, 'serving_errors', path.join(lake.dir, 'errors.csv')), /kind must be one of predictions, labels, training, got "serving_errors"/);
  });

  it('quarantines a corrupt file and reports it; the rest of the evidence stands', async () => {
    const before = await lake.backend.servedEvidence(spec, { from, to, asOf, versions });
    const errorDir = lake.backend.layout.partitionDir('canary', 'serving_errors', '2024-01-01');
    const predictionDir = lake.backend.layout.partitionDir('canary', 'predictions', '2024-01-01');
    writeFileSync(path.join(errorDir, 'zz-garbage.parquet'), 'not a parquet file');
    const good = readdirSync(predictionDir)[0];
    const truncated = readFileSync(path.join(predictionDir, good)).subarray(0, 100);
    writeFileSync(path.join(predictionDir, 'zz-truncated.parquet'), truncated);

    const e = await lake.backend.servedEvidence(spec, { from, to, asOf, versions });
    assert.deepEqual(e.quarantined.map((q) => path.basename(q.file)).sort(), ['zz-garbage.parquet', 'zz-truncated.parquet']);
    assert.match(e.quarantined.find((q) => q.file.endsWith('zz-garbage.parquet'))!.reason, /unreadable Parquet file serving_errors\/date=2024-01-01\/zz-garbage\.parquet/);
    assert.deepEqual(e.variants, before.variants);
    assert.ok(existsSync(path.join(lake.backend.layout.quarantineDir('canary'), 'serving_errors', 'date=2024-01-01', 'zz-garbage.parquet.reason.json')));
    assert.ok(!existsSync(path.join(errorDir, 'zz-garbage.parquet')));
  });

  it('reads whole files only while another process appends', async () => {
    // writer-child.ts appends batches of `size` predictions of "churn" (ts within 2024-01-01, T0 + 0..19 h).
    const churn = testSpec();
    const batches = 8;
    const size = 2_000;
    const writer = new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'writer-child.ts'), lake.dir, String(batches), String(size), 'w'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer child exited ${code}: ${stderr}`))));
    });
    let done = false;
    void writer.finally(() => (done = true));
    const seen: number[] = [];
    const total = async () => {
      const e = await lake.backend.servedEvidence(churn, { from: T0, to: T0 + DAY, asOf: T0 + DAY });
      return e.variants.champion.requests + e.variants.challenger.requests;
    };
    while (!done) {
      seen.push(await total());
      await new Promise((r) => setTimeout(r, 5));
    }
    await writer;
    seen.push(await total());
    assert.ok(
      seen.every((n, i) => n % size === 0 && (i === 0 || n >= seen[i - 1])),
      `every read saw whole batches, never fewer than before: ${seen.join(', ')}`,
    );
    assert.equal(seen.at(-1), batches * size);
  });
});
