/**
 * Test data for the report tests: real drift reports built with the drift module on generated
 * columns, and a pipeline run with an evaluation and a two-step canary.
 */
import { buildProfile, compareToProfile, mulberry32, type Columns, type DriftReport, type FeatureSpec } from '../../src/drift/index.js';
import type { CanaryAnalysis, PipelineReportInput } from '../../src/reports/index.js';

export const EVIL = '<script>alert("x")</script>';
export const EVIL_CATEGORY = '<img src="http://evil.example/x.png">';

function normals(n: number, seed: number, mean = 0, std = 1): Float64Array {
  const rnd = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(rnd(), 1e-12);
    out[i] = mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  }
  return out;
}

function categories(n: number, seed: number, cats: string[], weights: number[]): string[] {
  const rnd = mulberry32(seed);
  const total = weights.reduce((a, b) => a + b, 0);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let r = rnd() * total;
    let k = 0;
    while (r >= weights[k] && k < cats.length - 1) r -= weights[k++];
    out.push(cats[k]);
  }
  return out;
}

/**
 * Reference and current data where `income` (numerical) and `country` (categorical) drift, while
 * `age`, `plan` and a feature with a script-like name stay put.
 */
export function driftScenario(n = 4000): { report: DriftReport; labelReport: DriftReport } {
  const features: FeatureSpec[] = [
    { name: 'age', type: 'numerical' },
    { name: 'income', type: 'numerical' },
    { name: EVIL, type: 'numerical' },
    { name: 'plan', type: 'categorical' },
    { name: 'country', type: 'categorical' },
  ];
  const countries = ['fr', 'de', 'it', EVIL_CATEGORY];
  const reference: Columns = {
    age: normals(n, 1, 40, 10),
    income: normals(n, 2, 50_000, 8_000),
    [EVIL]: normals(n, 3),
    plan: categories(n, 4, ['basic', 'pro'], [3, 1]),
    country: categories(n, 5, countries, [5, 3, 2, 1]),
    churned: categories(n, 6, ['0', '1'], [9, 1]),
  };
  const current: Columns = {
    age: normals(n, 11, 40, 10),
    income: normals(n, 12, 62_000, 8_000),
    [EVIL]: normals(n, 13),
    plan: categories(n, 14, ['basic', 'pro'], [3, 1]),
    country: categories(n, 15, [...countries, 'es'], [1, 3, 2, 4, 3]),
  };
  const profile = buildProfile(reference, { features, label: { name: 'churned', type: 'binary' } });
  const report = compareToProfile(profile, current);
  const labelReport = compareToProfile(profile, { churned: categories(n, 16, ['0', '1'], [7, 3]) }, { minSamples: 1 });
  return { report, labelReport };
}

/** A 25-feature report (15 numerical, 10 categorical, a few drifted) for the render-time measurement. */
export function wideDriftReport(n = 5000): DriftReport {
  const features: FeatureSpec[] = [];
  const reference: Columns = {};
  const current: Columns = {};
  for (let i = 0; i < 15; i++) {
    const name = `num_${i}`;
    features.push({ name, type: 'numerical' });
    reference[name] = normals(n, 100 + i, i, 1 + i / 10);
    current[name] = normals(n, 200 + i, i + (i % 5 === 0 ? 0.6 : 0), 1 + i / 10);
  }
  for (let i = 0; i < 10; i++) {
    const name = `cat_${i}`;
    const cats = Array.from({ length: 4 + i * 3 }, (_, k) => `value_${k}`);
    features.push({ name, type: 'categorical' });
    reference[name] = categories(n, 300 + i, cats, cats.map((_, k) => 1 + k));
    current[name] = categories(n, 400 + i, cats, cats.map((_, k) => (i % 4 === 0 ? cats.length - k : 1 + k)));
  }
  return compareToProfile(buildProfile(reference, { features }), current);
}

const live = (requests: number, errors: number, p99: number, accuracy?: number) => ({
  requests, errors, p50LatencyMs: p99 / 3, p99LatencyMs: p99, labelledSamples: Math.floor(requests / 2), ...(accuracy !== undefined ? { accuracy } : {}),
});

export function pipelineInput(): PipelineReportInput {
  const analyses: CanaryAnalysis[] = [
    { at: '2024-05-01T10:10:00.000Z', step: 1, weight: 5, verdict: 'inconclusive', detail: 'only 40 challenger requests (needs 100)', live: { champion: live(800, 2, 80), challenger: live(40, 0, 90) } },
    { at: '2024-05-01T10:20:00.000Z', step: 1, weight: 5, verdict: 'pass', detail: 'error rate 0.00%, p99 91.0 ms', live: { champion: live(1812, 3, 81.5, 0.912), challenger: live(137, 1, 93.25, 0.921) } },
    { at: '2024-05-01T11:00:00.000Z', step: 2, weight: 25, verdict: 'pass', detail: 'error rate 0.10%, p99 95.0 ms', live: { champion: live(4321, 5, 82.75, 0.9105), challenger: live(1444, 2, 95.5, 0.9333) } },
  ];
  return {
    model: 'churn',
    workflowId: 'retrain-churn',
    runId: '0b7c4e1a-1111-4222-8333-944445555666',
    trigger: { kinds: ['drift'], reasons: [`2 of 5 features drifted (psi 0.412 on income)`], requestedBy: 'monitor' },
    startedAt: '2024-05-01T09:00:00.000Z',
    endedAt: '2024-05-01T11:30:00.000Z',
    outcome: { result: 'promoted', reason: 'all canary steps passed' },
    candidateVersion: 7,
    datasetId: 'ds-20240501',
    metric: 'roc_auc',
    evaluation: {
      champion: { version: 6, metrics: { roc_auc: 0.8123, accuracy: 0.9012, log_loss: 0.3141 } },
      challenger: { version: 7, metrics: { roc_auc: 0.8456, accuracy: 0.9087, log_loss: 0.2718 } },
      slices: [
        { feature: 'plan', value: 'basic', samples: 3000, champion: 0.801, challenger: 0.84 },
        { feature: 'plan', value: EVIL_CATEGORY, samples: 900, champion: 0.83, challenger: 0.822 },
      ],
      latencyMs: 0.42,
    },
    gates: [
      { name: 'floor', passed: true, severity: 'reject', detail: 'roc_auc 0.8456 meets the floor 0.7' },
      { name: 'improvement', passed: true, severity: 'reject', detail: 'roc_auc 0.8456 vs champion 0.8123: +0.0333 (needs ≥ 0.005)' },
      { name: 'leakage', passed: false, severity: 'approval', detail: 'below the leakage ceiling 0.99' },
    ],
    approvalReasons: ['policy requires approval for every run'],
    decisions: [
      { at: '2024-05-01T09:40:00.000Z', kind: 'approve', by: 'mallory', accepted: false, detail: 'mallory is not an approver of this model (approvers: alice)' },
      { at: '2024-05-01T09:45:00.000Z', kind: 'approve', by: 'alice', accepted: true, detail: `looks good ${EVIL}` },
    ],
    analyses,
  };
}
