import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildProfile, compareToProfile, mulberry32 } from '../../src/drift/index.js';
import { binLabels, escapeHtml, renderCheckReport, type CheckHistoryPoint, type CheckReportInput } from '../../src/reports/index.js';
import { driftScenario, EVIL, EVIL_CATEGORY } from './helpers.js';

const { report, labelReport } = driftScenario();

function input(overrides: Partial<CheckReportInput> = {}): CheckReportInput {
  return {
    model: 'churn',
    checkedAt: '2024-05-02T12:00:00.000Z',
    window: { from: '2024-05-01T12:00:00.000Z', to: '2024-05-02T12:00:00.000Z', rows: 4000 },
    champion: { version: 6, trainedAt: '2024-04-01T00:00:00.000Z' },
    drift: report,
    performance: { metric: 'roc_auc', value: 0.7912, labels: 1200, threshold: 0.8 },
    labelShift: { jensenShannon: labelReport.labelShift!.score!, samples: 4000, threshold: 0.1, distribution: labelReport.labelShift },
    newLabels: 5000,
    history: [
      { checkedAt: '2024-05-01T12:00:00.000Z', driftShare: 0.2, driftedFeatures: 1, evaluatedFeatures: 5, rows: 3900, performance: { metric: 'roc_auc', value: 0.81, labels: 1000 }, labelShift: 0.05 },
      { checkedAt: '2024-04-30T12:00:00.000Z', driftShare: 0, driftedFeatures: 0, evaluatedFeatures: 5, rows: 4100, performance: { metric: 'roc_auc', value: 0.83, labels: 900 } },
    ],
    ...overrides,
  };
}

/** The text of the <section> of a feature, found by its (escaped) heading. */
function section(html: string, feature: string): string {
  const start = html.indexOf(`<h3>${escapeHtml(feature)} `);
  assert.ok(start > 0, `no section for ${feature}`);
  return html.slice(start, html.indexOf('</section>', start));
}

/**
 * Values of URL-carrying attributes in every tag of the document. Text content never holds a raw
 * "<" (it is escaped), so each "<name ...>" match is a real tag.
 */
const urlAttributes = (html: string) => [...html.matchAll(/<[a-zA-Z][^>]*>/g)]
  .flatMap((tag) => [...tag[0].matchAll(/\s(?:src|href|xlink:href|action|srcset|poster|data)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi)].map((m) => m[1]));

describe('renderCheckReport', () => {
  it('the drift scenario itself has one drifted numerical and one drifted categorical feature', () => {
    assert.deepEqual([...report.driftedFeatureNames].sort(), ['country', 'income']);
    assert.equal(report.evaluatedFeatures, 5);
  });

  it('renders one self-contained HTML document with a chart per feature', async () => {
    const html = await renderCheckReport(input());
    assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
    assert.equal(html.match(/<html[\s>]/g)?.length, 1);
    assert.equal(html.match(/<\/html>/g)?.length, 1);
    assert.equal(html.match(/<body>/g)?.length, 1);
    assert.ok(html.trimEnd().endsWith('</html>'));
    for (const f of report.features) {
      assert.match(section(html, f.feature), /<svg[\s>]/, `no chart for ${f.feature}`);
    }
    // 5 feature charts + performance, label distribution, label shift over time and drift share.
    assert.equal(html.match(/<svg[\s>]/g)?.length, 9);
  });

  it('shows the evidence a retrain decision rests on: label-free estimate, matured errors, coverage, drift impact', async () => {
    const html = await renderCheckReport(input({
      estimate: { metric: 'accuracy', value: 0.8512, lower: 0.84, upper: 0.862, samples: 4000, baseline: 0.9 },
      sequential: { fired: true, statistic: 11.2, threshold: 9.76, baselineError: 0.1, tolerance: 0.02, samples: 6000, errorRate: 0.171, lower: 0.16, upper: 0.183 },
      labels: { matured: 1300, labelled: 1200, coverage: 0.923, revised: 3 },
      driftImpact: { material: true, reason: 'tenure drifted; estimated loss 0.049 exceeds the tolerance 0.02' },
    }));
    assert.match(html, /Evidence for a retrain/);
    assert.match(html, /Estimated accuracy \(label-free, CBPE\)<\/dt><dd>85\.1% \[84\.0%, 86\.2%\] on 4,000 scores; validated 90\.0%/);
    assert.match(html, /17\.1% \[16\.0%, 18\.3%\] vs validated 10\.0% \+ 2\.0% tolerance; evidence 11\.20 of 9\.76 needed \(reached\)/);
    assert.match(html, /1,200 of 1,300 matured predictions labelled \(92%\); 3 revised/);
    assert.match(html, /yes: tenure drifted; estimated loss 0\.049 exceeds the tolerance 0\.02/);
    assert.doesNotMatch(await renderCheckReport(input()), /Evidence for a retrain/, 'nothing to show, no section');
  });

  it('marks the drifted features as drift with their formatted scores', async () => {
    const html = await renderCheckReport(input());
    for (const name of ['income', 'country']) {
      const f = report.features.find((x) => x.feature === name)!;
      const score = f.score! >= 1 ? f.score!.toFixed(3) : f.score!.toFixed(4);
      const row = html.match(new RegExp(`<tr class="bad"><td><a href="#feature-\\d+">${name}</a>.*?</tr>`))?.[0];
      assert.ok(row, `no drift row for ${name}`);
      assert.ok(row.includes(`<td class="num">${score}</td>`), `score ${score} missing in ${row}`);
      assert.ok(row.includes('<span class="badge bad">drift</span>'));
      assert.ok(section(html, name).includes(`<strong>${score}</strong> against threshold 0.15`));
    }
    assert.ok(section(html, 'age').includes('<span class="badge good">ok</span>'));
    assert.ok(html.includes('2 of 5 evaluated features drifted'));
    // Numerical bins get readable labels, categorical charts name their categories.
    assert.match(section(html, 'income'), /<text[^>]*>&lt; \d+/);
    assert.match(section(html, 'country'), /<text[^>]*>fr<\/text>/);
    assert.ok(section(html, 'country').includes('New in the current data: <code>es</code>'));
  });

  it('a check that started a retrain on one drifted feature says nothing of a dataset-drift share (no share decides; issue 16)', async () => {
    const one = { ...report, driftedFeatures: 1, driftShare: 0.2, datasetDrift: false, driftedFeatureNames: ['income'] };
    const html = await renderCheckReport(input({
      drift: one,
    }));
    assert.ok(html.includes('1 of 5 evaluated features drifted (20%): income.'));
    assert.doesNotMatch(html, /dataset.drift/i);
    assert.doesNotMatch(html, /≥ 50%/);
    assert.match(html, /Whether drift starts a retrain depends on what the drifted features cost the model .*not on how many drifted/);
  });

  it('loads nothing: no scripts, no remote URLs, no external links', async () => {
    const html = await renderCheckReport(input());
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<link/i);
    assert.doesNotMatch(html, /<img/i);
    assert.doesNotMatch(html, /url\(\s*['"]?(?:https?:)?\/\//i);
    const urls = urlAttributes(html);
    assert.ok(urls.length >= report.features.length, 'the summary links to each feature section');
    for (const v of urls) assert.match(v, /^"#feature-\d+"$/, `non-local URL attribute ${v}`);
    assert.ok(html.includes("default-src 'none'"));
  });

  it('escapes feature names and category values, in the page and inside the charts', async () => {
    const html = await renderCheckReport(input({ model: 'churn<b>' }));
    assert.ok(!html.includes(EVIL));
    assert.ok(html.includes(escapeHtml(EVIL)));
    assert.ok(!html.includes(EVIL_CATEGORY));
    assert.ok(!html.includes('<b>'));
    assert.ok(html.includes('churn&lt;b&gt;'));
    // The malicious category reaches the chart as an escaped axis label.
    assert.match(section(html, 'country'), /<text[^>]*>&lt;img src=(?:"|&quot;)http:\/\/ev/);
  });

  it('keeps SVG ids unique across the charts of one page', async () => {
    const html = await renderCheckReport(input());
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('explains insufficient data: too few rows for minSamples', async () => {
    const rnd = mulberry32(7);
    const ref = { x: Float64Array.from({ length: 2000 }, () => rnd()), c: Array.from({ length: 2000 }, (_, i) => (i % 3 === 0 ? 'a' : 'b')) };
    const profile = buildProfile(ref, { features: [{ name: 'x', type: 'numerical' }, { name: 'c', type: 'categorical' }] });
    const thin = compareToProfile(profile, { x: Float64Array.from({ length: 40 }, () => rnd()), c: Array(40).fill('a') });
    assert.equal(thin.evaluatedFeatures, 0);
    const html = await renderCheckReport(input({ drift: thin, window: { from: '2024-05-02T11:00:00.000Z', to: '2024-05-02T12:00:00.000Z', rows: 40 }, performance: undefined, labelShift: undefined, history: [] }));
    assert.ok(html.includes('<span class="badge neutral">insufficient data</span>'));
    assert.ok(html.includes('Insufficient data: drift was not judged'));
    assert.ok(html.includes('2 features (x, c): current has 40 non-missing values, fewer than minSamples=1000.'));
    assert.ok(html.includes('The window has 40 rows; each feature needs at least minSamples=1,000'));
    assert.ok(html.includes('No matured labels in this window yet'));
    assert.ok(html.includes('No check so far had enough data to evaluate any feature.'));
    assert.doesNotMatch(html, /Triggers/, 'the report is written before the triggers are weighed: it claims none');
    // The features are still listed, greyed, with the scores given as information.
    assert.match(html, /<tr class="neutral"><td><a href="#feature-\d+">x<\/a>/);
  });

  it('explains insufficient data: no champion, and a champion without a reference profile', async () => {
    const none = await renderCheckReport(input({ champion: undefined, drift: null, performance: undefined, labelShift: undefined, window: { from: 'a', to: 'b', rows: 0 } }));
    assert.ok(none.includes('No champion yet'));
    assert.ok(none.includes('No predictions were logged in the window'));
    assert.doesNotMatch(none, /<h2>Features<\/h2>/);
    const noProfile = await renderCheckReport(input({ drift: null }));
    assert.ok(noProfile.includes('Champion v6 has no reference profile'));
    const custom = await renderCheckReport(input({ drift: null, driftUnavailableReason: 'profile <corrupt>' }));
    assert.ok(custom.includes('profile &lt;corrupt&gt;'));
  });

  it('charts performance and drift share over the history plus the current check', async () => {
    const history: CheckHistoryPoint[] = Array.from({ length: 30 }, (_, i) => ({
      checkedAt: new Date(Date.UTC(2024, 4, 1, i)).toISOString(), driftShare: i / 30, driftedFeatures: i % 5, evaluatedFeatures: 5, rows: 100,
      performance: { metric: 'roc_auc', value: 0.8 + i / 1000, labels: 500 },
    }));
    const html = await renderCheckReport(input({ history, labelShift: undefined }));
    const perf = html.slice(html.indexOf('<h2>Performance over time</h2>'), html.indexOf('<h2>Label shift</h2>'));
    assert.match(perf, /<svg[\s>]/);
    assert.ok(perf.includes('roc_auc <strong>0.7912</strong> on 1,200 matured labels (retrain threshold 0.8)'));
    assert.ok(html.includes('31 checks, 2024-05-01 00:00:00 UTC → 2024-05-02 12:00:00 UTC'));
    // 31 points on the performance line: 30 history points and the current check.
    const line = perf.match(/<path[^>]*stroke="#1f6fb2"[^>]*>/)?.[0] ?? '';
    assert.equal((line.match(/L/g)?.length ?? 0) + 1, 31);
  });

  it('labels PSI bins readably, with open ends', () => {
    assert.deepEqual(binLabels([null, 1.5, 2.25, 1000, null]), ['< 1.5', '1.5 – 2.25', '2.25 – 1000', '≥ 1000']);
    assert.deepEqual(binLabels([null, 0.123456, 0.123459, null]), ['< 0.123456', '0.123456 – 0.123459', '≥ 0.123459']);
    assert.deepEqual(binLabels([null, null]), ['all values']);
    assert.deepEqual(binLabels([null, 3, 3, null]), ['< 3', '3 – 3', '≥ 3']);
  });
});
