import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { learningNarration } from '../../src/demo/narrator.js';
import { renderCheckReport, type CheckReportInput } from '../../src/reports/index.js';
import type { LearningReport } from '../../src/reports/learning-section.js';
import type { OnlineLearningResult } from '../../src/workflows/online-learning.js';
import { driftScenario } from './helpers.js';

/** What a person sees of an online learner: the check report's section and chart, and the tour's narration. */
const { report } = driftScenario();
const learning: LearningReport = {
  mode: 'hybrid',
  metric: 'roc_auc',
  base: 3,
  championMetric: 0.81,
  serving: '3+online.900',
  frozen: { at: '2024-05-02T11:00:00.000Z', reason: 'roc_auc 0.7400 against 0.8300 for the last good snapshot (-10.84%, tolerance 2.00%)', snapshotVersion: 6 },
  totals: { steps: 40, applied: 1200, skipped: 2, dropped: 300, correct: 1080 },
  snapshots: [
    { version: 4, at: '2024-05-02T09:00:00.000Z', copy: '3+online.300', metric: 0.82, verdict: 'good' },
    { version: 5, at: '2024-05-02T10:00:00.000Z', copy: '3+online.900', metric: 0.83, verdict: 'good' },
    { version: 6, at: '2024-05-02T11:00:00.000Z', copy: '3+online.1200', metric: 0.74, verdict: 'worse' },
  ],
};
const input = (l?: LearningReport): CheckReportInput => ({
  model: 'churn',
  checkedAt: '2024-05-02T12:00:00.000Z',
  window: { from: '2024-05-01T12:00:00.000Z', to: '2024-05-02T12:00:00.000Z', rows: 4000 },
  champion: { version: 3, trainedAt: '2024-04-01T00:00:00.000Z' },
  drift: report,
  newLabels: 0,
  history: [],
  learning: l,
});

describe('check report: online learning', () => {
  it('shows what serves, what was learned, the freeze, and each snapshot against the champion in a chart and a table', async () => {
    const html = await renderCheckReport(input(learning));
    assert.match(html, /<h2>Online learning \(hybrid\)/);
    assert.match(html, /3\+online\.900 blended with the champion/);
    assert.match(html, /1,200 in 40 steps \(300 left out by the rate bound, 2 refused\)/);
    assert.match(html, /since .*: snapshot v6 roc_auc 0\.7400 against 0\.8300/);
    assert.match(html, /<svg[^>]*>[\s\S]*roc_auc of each snapshot/, 'the chart is rendered');
    // Newest first in the table, each with its verdict.
    const rows = [...html.matchAll(/<tr><td>v(\d)<\/td><td>([^<]+)<\/td>/g)].map((m) => [m[1], m[2]]);
    assert.deepEqual(rows, [['6', '3+online.1200'], ['5', '3+online.900'], ['4', '3+online.300']]);
    assert.match(html, /Prequential accuracy[\s\S]{0,40}0\.9\b/, '1,080 of 1,200 right before learning them');
  });

  it('says so before the first snapshot, and a batch model has no such section', async () => {
    assert.match(await renderCheckReport(input({ ...learning, frozen: null, snapshots: [] })), /No snapshot yet/);
    assert.doesNotMatch(await renderCheckReport(input()), /Online learning/);
  });
});

describe('the tour narrates the online learner', () => {
  const spec = loadConfig('retrain.yaml').models.find((m) => m.learning.mode === 'hybrid')!;
  const result = (over: Partial<OnlineLearningResult['step']>, rest: Omit<OnlineLearningResult, 'step'> = {}): OnlineLearningResult => ({
    step: { model: spec.name, base: 1, copy: '1+online.40', restarted: false, frozen: false, read: 40, applied: 40, skipped: 0, dropped: 0, accuracy: 0.9, snapshotDue: false, ...over },
    ...rest,
  });
  it('the first copy served, then snapshots and freezes, each once; plain steps are silent', () => {
    assert.deepEqual(learningNarration(spec, undefined, result({ copy: null, restarted: true })), []);
    assert.match(learningNarration(spec, { copy: null }, result({}))[0], /the online copy 1\+online\.40 serves \(hybrid: 0\.7 × champion v1 \+ 0\.3 × copy\)/);
    assert.deepEqual(learningNarration(spec, { copy: '1+online.40' }, result({ copy: '1+online.80' })), []);
    const snapshot = { verdict: 'worse' as const, change: -0.1, detail: 'roc_auc 0.7 against 0.8', model: spec.name, version: 3, copy: '1+online.80', metric: 0.7, lastGood: { registryVersion: 2, metric: 0.8 } };
    const [frozen] = learningNarration(spec, { copy: '1+online.40' }, result({ copy: '1+online.80' }, { snapshot, frozen: { resetTo: '1+online.40' } }));
    assert.match(frozen, /online learning FROZEN: snapshot v3 roc_auc 0\.7 against 0\.8; serving 1\+online\.40 again\n.*npx retrain learning unfreeze/);
    assert.match(learningNarration(spec, { copy: '1+online.80' }, result({ base: 2, copy: null, restarted: true }))[0], /restarted from the new champion v2/);
  });
});
