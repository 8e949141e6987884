/**
 * Measures how long the reports take to render (not a test: run it by hand).
 *   npx tsx test/reports/render-bench.ts
 */
import { renderCheckReport, renderPipelineReport, type CheckHistoryPoint } from '../../src/reports/index.js';
import { pipelineInput, wideDriftReport } from './helpers.js';

const report = wideDriftReport();
const history: CheckHistoryPoint[] = Array.from({ length: 500 }, (_, i) => ({
  checkedAt: new Date(Date.UTC(2024, 3, 1) + i * 15 * 60_000).toISOString(),
  driftShare: (i % 40) / 100,
  driftedFeatures: i % 10,
  evaluatedFeatures: 25,
  performance: { metric: 'roc_auc', value: 0.8 + Math.sin(i / 30) / 50, labels: 1000 + i },
  labelShift: 0.02 + (i % 7) / 100,
  rows: 5000,
}));
const input = {
  model: 'wide', checkedAt: '2024-05-06T12:00:00.000Z',
  window: { from: '2024-05-05T12:00:00.000Z', to: '2024-05-06T12:00:00.000Z', rows: 5000 },
  champion: { version: 3, trainedAt: '2024-04-01T00:00:00.000Z' },
  drift: report, performance: { metric: 'roc_auc', value: 0.79, labels: 1500, threshold: 0.78 },
  newLabels: 12_000, history,
};

// Modules loaded and JIT-warmed by another report first; then the check report with none of its
// chart shapes cached (a worker's first check of a model), then again (every later check).
let t = performance.now();
await renderPipelineReport(pipelineInput());
const pipelineMs = performance.now() - t;
const runs: number[] = [];
let html = '';
for (let i = 0; i < 4; i++) {
  t = performance.now();
  html = await renderCheckReport(input);
  runs.push(performance.now() - t);
}
const charts = html.match(/<svg[\s>]/g)?.length ?? 0;
console.log(`pipeline report, first in the process (module warm-up included): ${pipelineMs.toFixed(0)} ms`);
console.log(`25-feature check report (${report.features.length} features, ${report.driftedFeatures} drifted, ${charts} charts, ${history.length} history points, ${(html.length / 1024).toFixed(0)} KiB):`);
console.log(`  first render ${runs[0].toFixed(0)} ms (chart shapes not cached yet), then ${runs.slice(1).map((r) => r.toFixed(0)).join(', ')} ms`);
