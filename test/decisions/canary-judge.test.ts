import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canaryEvidenceFrom, estimatedAccuracy } from '../../src/activities/canary-evidence.js';
import type { ServedEvidence, ServedVariantEvidence } from '../../src/backends/data/types.js';
import { parseConfig } from '../../src/config/load.js';
import { combineVerdicts, judgeMetric, judgeStep } from '../../src/workflows/canary/judge.js';
import { healthyEvidence, testModel } from '../helpers/scripted-activities.js';

const analysis = testModel().rollout.analysis;
const metric = (kind: string, extra = '') => analysis.metrics.find((m) => m.kind === kind) ?? parseConfig(`models:\n  - { name: m, task: ${kind === 'score_distance' ? 'binary_classification' : 'regression'}, features: [{ name: x, type: numerical }], label: { name: y }, rollout: { analysis: { metrics: [{ kind: ${kind}${extra} }] } } }`).models[0].rollout.analysis.metrics[0];

describe('canary judgement: one metric at a time, worked examples', () => {
  it('error rate: 1 in 5,000 passes, 100 in 5,000 (2%) passes at the limit, 101 fails; too few requests is inconclusive', () => {
    const rate = metric('error_rate');
    assert.equal(judgeMetric(rate, healthyEvidence(), analysis).verdict, 'pass');
    assert.equal(judgeMetric(rate, healthyEvidence(5_000, { challenger: { errors: 100 } }), analysis).verdict, 'pass');
    const failed = judgeMetric(rate, healthyEvidence(5_000, { challenger: { errors: 101 } }), analysis);
    assert.deepEqual([failed.verdict, failed.evidence, failed.detail], ['fail', 'traffic', 'error rate 2.02% > 2.00% (101 of 5000)']);
    assert.equal(judgeMetric(rate, healthyEvidence(199), analysis).verdict, 'inconclusive');
  });

  it('latency is judged against the champion on the same traffic: ×1.2 and at least +5 ms', () => {
    const latency = metric('latency');
    // 13 vs 12 ms: under both the ratio (14.4) and the margin (17): pass.
    assert.equal(judgeMetric(latency, healthyEvidence(), analysis).verdict, 'pass');
    // 18 vs 12 ms: over 14.4 and over 17: fail.
    const slow = judgeMetric(latency, healthyEvidence(5_000, { challenger: { p99LatencyMs: 18 } }), analysis);
    assert.equal(slow.verdict, 'fail');
    assert.match(slow.detail, /p99 18\.0 ms vs champion 12\.0 ms \(limit 17\.0 ms/);
    // 1.3 vs 1.0 ms is 30% slower but 0.3 ms: noise, pass.
    assert.equal(judgeMetric(latency, healthyEvidence(5_000, { champion: { p99LatencyMs: 1 }, challenger: { p99LatencyMs: 1.3 } }), analysis).verdict, 'pass');
    // 100 vs 80 ms: +25% and +20 ms: fail on the ratio (limit 96).
    assert.equal(judgeMetric(latency, healthyEvidence(5_000, { champion: { p99LatencyMs: 80 }, challenger: { p99LatencyMs: 100 } }), analysis).verdict, 'fail');
    // The p99 by order statistics: 13.6 vs 7.6 ms looks slower, but the challenger's p99 may be as low
    // as its p98 (9 ms) and the champion's as high as its p99.5 (12 ms): limit max(14.4, 17) = 17: pass.
    const noisy = judgeMetric(latency, healthyEvidence(5_000, { champion: { p99LatencyMs: 7.6, p99BoundsMs: { lower: 6, upper: 12 } }, challenger: { p99LatencyMs: 13.6, p99BoundsMs: { lower: 9, upper: 30 } } }), analysis);
    assert.deepEqual([noisy.verdict, noisy.detail], ['pass', 'p99 13.6 ms vs champion 7.6 ms (95% bounds: challenger ≥ 9.0 ms, champion ≤ 12.0 ms) (limit 17.0 ms: ×1.2, at least +5 ms)']);
    // A whole tail that moved: the challenger's p98 is 40 ms: fail.
    assert.equal(judgeMetric(latency, healthyEvidence(5_000, { champion: { p99BoundsMs: { lower: 10, upper: 12 } }, challenger: { p99LatencyMs: 45, p99BoundsMs: { lower: 40, upper: 50 } } }), analysis).verdict, 'fail');
    // 400 answers a side: a p99 is the 4th-slowest answer, so the medians are compared (3 vs 3 ms: pass).
    const few = judgeMetric(latency, healthyEvidence(400, { champion: { requests: 400, p99LatencyMs: 4 }, challenger: { p99LatencyMs: 30 } }), analysis);
    assert.deepEqual([few.verdict, few.detail], ['pass', 'p50 3.0 ms vs champion 3.0 ms (p50: p99 needs 1000 answers a side) (limit 8.0 ms: ×1.2, at least +5 ms)']);
  });

  it('accuracy drop: judged only on labels, failed only when the one-sided 95% bound clears the limit', () => {
    const drop = metric('accuracy_drop');
    // No labels yet (a 3-day delay, one day into the step): inconclusive, never a pass.
    const unlabelled = judgeMetric(drop, healthyEvidence(5_000, { champion: { labelled: 0, accuracy: undefined }, challenger: { labelled: 0, accuracy: undefined } }), analysis);
    assert.deepEqual([unlabelled.verdict, unlabelled.evidence], ['inconclusive', 'labels']);
    // 74% vs 80% on 100 / 300 labels: a 6-point drop; se = sqrt(.8·.2/300 + .74·.26/100) = 0.0496, bound = 0.06 − 1.645·0.0496 = −2.15%.
    const noisy = judgeMetric(drop, healthyEvidence(5_000, { champion: { accuracy: 0.8, labelled: 300 }, challenger: { accuracy: 0.74, labelled: 100 } }), { ...analysis, minSamples: 80 });
    assert.equal(noisy.verdict, 'inconclusive');
    assert.match(noisy.detail, /drop 6\.00% > 5\.00%, not yet significant \(95% lower bound -2\.15%\)/);
    // The same drop on 20,000 labels each: se = 0.0042, bound = 0.06 − 1.645·0.0042 = 5.31% > 5%: fail.
    const sure = judgeMetric(drop, healthyEvidence(5_000, { champion: { accuracy: 0.8, labelled: 20_000 }, challenger: { accuracy: 0.74, labelled: 20_000 } }), analysis);
    assert.equal(sure.verdict, 'fail');
    assert.match(sure.detail, /95% lower bound 5\.31%/);
    // At 99.9% confidence (z = 3.09) the same evidence is not enough: bound = 0.06 − 3.09·0.0042 = 4.70%: inconclusive.
    assert.equal(judgeMetric(drop, healthyEvidence(5_000, { champion: { accuracy: 0.8, labelled: 20_000 }, challenger: { accuracy: 0.74, labelled: 20_000 } }), { ...analysis, confidence: 0.999 }).verdict, 'inconclusive');
  });

  it('regression error increase: relative to the champion MAE, with the spread of the absolute errors', () => {
    const increase = metric('error_increase');
    const ev = (mae: number, sd: number, n: number) =>
      healthyEvidence(5_000, { champion: { mae: 10, absErrorStdDev: 8, labelled: n, accuracy: undefined }, challenger: { mae, absErrorStdDev: sd, labelled: n, accuracy: undefined } });
    // +1.5 on 10 (15% > 10%) on 400 labels: se = sqrt(64/400 + 64/400) = 0.566, bound = 1.5 − 0.93 = 0.57 < 1: inconclusive.
    assert.equal(judgeMetric(increase, ev(11.5, 8, 400), analysis).verdict, 'inconclusive');
    // On 10,000 labels: se = 0.113, bound = 1.31 > 1: fail.
    assert.equal(judgeMetric(increase, ev(11.5, 8, 10_000), analysis).verdict, 'fail');
    assert.equal(judgeMetric(increase, ev(10.4, 8, 10_000), analysis).verdict, 'pass');
  });

  it('label-free signals fail a step on their own but never pass one', () => {
    // Deciding versions of the two (the defaults carry them as dry runs: see below).
    const estimate = { ...metric('estimated_accuracy_drop'), dryRun: false };
    const distance = { ...metric('score_distance'), dryRun: false };
    const bad = healthyEvidence(5_000, { challenger: { estimatedAccuracy: 0.8, labelled: 0, accuracy: undefined }, champion: { labelled: 0, accuracy: undefined }, scoreDistance: 0.45 });
    assert.equal(judgeMetric(estimate, bad, analysis).verdict, 'fail');
    assert.equal(judgeMetric(distance, bad, analysis).verdict, 'fail');
    // With the defaults they are dry runs: judged and shown, deciding nothing (labels are not in: inconclusive).
    const dry = judgeStep(analysis, bad);
    assert.equal(dry.verdict, 'inconclusive');
    assert.deepEqual(dry.metrics.filter((m) => m.dryRun).map((m) => [m.kind, m.verdict]), [['estimated_accuracy_drop', 'fail'], ['score_distance', 'fail']]);
    const step = judgeStep({ ...analysis, metrics: [...analysis.metrics.filter((m) => !m.dryRun), estimate, distance] }, bad);
    assert.equal(step.verdict, 'fail');
    assert.match(step.detail, /challenger's estimated live accuracy 80\.00% vs 94\.00% on the holdout \(label-free, CBPE\): drop 14\.00% > 5\.00%; score distributions apart: Jensen–Shannon distance 0\.450 > 0\.300/);
    // The same distance between two small samples is within what chance gives: not a failure.
    assert.equal(judgeMetric(distance, { ...bad, scoreDistanceNoiseFloor: 0.52 }, analysis).verdict, 'pass');
    // Label-free signals fine, labels not there yet: inconclusive (waiting for labels), not a pass.
    const waiting = judgeStep(analysis, healthyEvidence(5_000, { challenger: { labelled: 3, accuracy: 1 }, champion: { labelled: 12, accuracy: 0.9 } }));
    assert.deepEqual([waiting.verdict, waiting.awaitingLabels], ['inconclusive', true]);
    assert.match(waiting.detail, /accuracy not judged yet: 3 challenger and 12 champion predictions labelled \(needs 200 each\)/);
  });

  it('shadow agreement applies to the shadow stage only', () => {
    const shadow = healthyEvidence(5_000, { stage: 'shadow', shadowPairs: { paired: 1_000, agreed: 700 } });
    const judged = judgeStep(analysis, shadow);
    assert.equal(judged.verdict, 'fail');
    assert.match(judged.detail, /agreement with the champion 70\.00% < 80\.00% on 1000 mirrored requests/);
    assert.equal(judgeStep(analysis, healthyEvidence()).metrics.some((m) => m.kind === 'shadow_agreement'), false);
  });

  it('combines: any failure fails; an open traffic metric keeps it inconclusive even with labels; all required passing passes', () => {
    const r = (evidence: 'traffic' | 'labels' | 'label-free', verdict: 'pass' | 'fail' | 'inconclusive') => ({ name: evidence, kind: 'error_rate' as const, evidence, verdict, detail: `${evidence} ${verdict}` });
    assert.equal(combineVerdicts([r('traffic', 'pass'), r('labels', 'pass'), r('label-free', 'inconclusive')]).verdict, 'pass');
    assert.deepEqual(combineVerdicts([r('traffic', 'inconclusive'), r('labels', 'inconclusive')]), {
      verdict: 'inconclusive',
      detail: 'traffic inconclusive; labels inconclusive',
      metrics: [r('traffic', 'inconclusive'), r('labels', 'inconclusive')],
      awaitingLabels: false,
    });
    assert.equal(combineVerdicts([r('traffic', 'pass'), r('label-free', 'fail'), r('labels', 'inconclusive')]).verdict, 'fail');
  });
});

describe('canary evidence from the lake rows', () => {
  const variant = (over: Partial<ServedVariantEvidence>): ServedVariantEvidence => ({
    version: null, requests: 0, errors: 0, latencyMs: null, labelled: 0, correct: 0, absErrorSum: 0, squaredErrorSum: 0, scoreHistogram: [0, 0, 0, 0], ...over,
  });
  const served = (champion: Partial<ServedVariantEvidence>, challenger: Partial<ServedVariantEvidence>): ServedEvidence => ({
    from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z', asOf: '2026-01-02T00:00:00.000Z',
    scoreEdges: [0, 0.25, 0.5, 0.75, 1],
    variants: { champion: variant(champion), challenger: variant(challenger), shadow: variant({}) },
    shadowPairs: { paired: 0, agreed: 0 },
    filesRead: 0,
    quarantined: [],
  });

  it('accuracy from the labelled rows, MAE with the spread of the absolute errors, JS distance of the score histograms', () => {
    const ev = canaryEvidenceFrom(
      served({ version: '1', requests: 10, labelled: 4, correct: 3, scoreHistogram: [5, 5, 0, 0], latencyMs: { p50: 2, p99: 9, mean: 3, p98: 8, p995: 9.5 } }, { version: '2', requests: 10, errors: 2, labelled: 5, correct: 5, scoreHistogram: [0, 0, 4, 4] }),
      { task: 'binary_classification' },
      'canary',
      {},
    );
    assert.deepEqual([ev.champion.accuracy, ev.challenger.accuracy, ev.champion.p99LatencyMs, ev.challenger.p99LatencyMs], [0.75, 1, 9, null]);
    assert.equal(ev.scoreDistance, 1, 'disjoint score histograms are at distance 1 (base 2)');
    const regression = canaryEvidenceFrom(served({ labelled: 4, absErrorSum: 8, squaredErrorSum: 20 }, {}), { task: 'regression' }, 'canary', {});
    // MAE 2; E[e²] = 5, so the absolute errors' variance is 5 − 4 = 1.
    assert.deepEqual([regression.champion.mae, regression.champion.absErrorStdDev], [2, 1]);
  });

  it('CBPE on a histogram: each bin at its midpoint through the calibration, right with q above 0.5 and 1 − q below', () => {
    // Identity calibration: bins at 0.125, 0.375, 0.625, 0.875 are right with 0.875, 0.625, 0.625, 0.875.
    const identity = { kind: 'isotonic' as const, x: [0, 1], y: [0, 1] };
    assert.equal(estimatedAccuracy([1, 1, 1, 1], [0, 0.25, 0.5, 0.75, 1], identity), 0.75);
    // An overconfident model whose scores mean 0.3 everywhere: right 70% below 0.5, 30% above.
    const flat = { kind: 'isotonic' as const, x: [0, 1], y: [0.3, 0.3] };
    assert.ok(Math.abs(estimatedAccuracy([1, 0, 0, 1], [0, 0.25, 0.5, 0.75, 1], flat)! - 0.5) < 1e-12);
    assert.equal(estimatedAccuracy([0, 0, 0, 0], [0, 0.25, 0.5, 0.75, 1], identity), undefined);
  });
});
