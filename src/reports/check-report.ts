/**
 * The drift check report: one HTML page per monitor check, with every feature's score against its
 * threshold, reference vs current distributions, label shift, and performance and drift over time.
 */
import type { DriftReport, FeatureDrift } from '../drift/index.js';
import { chart, distributionSpec, MAX_CHART_CATEGORIES, timeSeriesSpec } from './charts.js';
import type { CheckHistoryPoint } from './history.js';
import { learningSection, type LearningReport } from './learning-section.js';
import {
  badge, callout, facts, fmtInt, fmtNum, fmtPct, fmtScore, fmtSig, fmtTime, html, page, table, type Cell, type SafeHtml,
} from './html.js';

export interface CheckReportInput {
  model: string;
  checkedAt: string;
  window: { from: string; to: string; rows: number };
  champion?: { version: number; trainedAt: string };
  /** The full drift report, or null when drift could not be measured (no champion or no reference profile). */
  drift: DriftReport | null;
  /** Why `drift` is null, in words; a default explanation is given when omitted. */
  driftUnavailableReason?: string;
  /** Performance on matured labels; `threshold` (the trigger's) draws a line on the chart. */
  performance?: { metric: string; value: number; labels: number; threshold?: number };
  /**
   * Label shift on matured labels. `distribution` is the label's FeatureDrift (the `labelShift` of
   * a compareToProfile over the labels) for the chart; `threshold` is the label-shift trigger's.
   * When omitted, `drift.labelShift` is shown if there is one.
   */
  labelShift?: { jensenShannon: number; samples: number; threshold?: number; distribution?: FeatureDrift | null };
  newLabels: number;
  lastRetrainAt?: string;
  /** Label-free estimate of the champion's accuracy on the window (CBPE), with its interval and the validated value. */
  estimate?: { metric: string; value: number; lower: number; upper: number; samples: number; baseline?: number };
  /** The sequential test on the matured error stream against the champion's validated error. */
  sequential?: { fired: boolean; statistic: number; threshold: number; baselineError: number; tolerance: number; samples: number; errorRate?: number; lower: number; upper: number };
  /** Matured predictions of the window and how many have labels. */
  labels?: { matured: number; labelled: number; coverage: number; revised: number };
  /** Why the drift is (not) worth a retrain: importance and estimated loss. */
  driftImpact?: { material: boolean; reason: string };
  /** Earlier checks, any order; the current check is added when it is not in there. */
  history: CheckHistoryPoint[];
  /**
   * How often each drifted feature drifted before, from the registry's violations (this check
   * included): distinct UTC days with a violation among the last `windowDays`.
   */
  driftRecurrence?: { windowDays: number; features: Array<{ feature: string; days: number }> };
  /** learning: online | hybrid: the online learner's state and snapshots. */
  learning?: LearningReport;
  /** Data-quality checks against the reference (missing rate, range, unseen categories, mean shift). */
  dataQuality?: {
    checked: number;
    violations: Array<{ feature: string; check: string; value: number; reference: number; threshold: number; samples: number }>;
    started?: string[];
  };
}

interface MetricInfo { name: string; test: boolean }
const METRICS: Record<string, MetricInfo> = {
  psi: { name: 'PSI', test: false },
  wasserstein: { name: 'Wasserstein', test: false },
  jensen_shannon: { name: 'Jensen–Shannon', test: false },
  ks: { name: 'KS p-value', test: true },
  chi_square: { name: 'χ² p-value', test: true },
};
const metricInfo = (m: string): MetricInfo => METRICS[m] ?? { name: m, test: false };

/** "> 0.15" for distances, "< 0.01" for p-values: the side of the threshold that means drift. */
export function driftRule(f: Pick<FeatureDrift, 'metric' | 'threshold'>): string {
  return `${metricInfo(f.metric).test ? '<' : '>'} ${fmtNum(f.threshold, 6)}`;
}

const SEVERITY: Record<string, number> = { drift: 0, ok: 1, insufficient_data: 2 };

/** How far past (or short of) its threshold a feature is, for ordering: larger = worse. */
function excess(f: FeatureDrift): number {
  if (f.score === null || f.threshold <= 0) return 0;
  return metricInfo(f.metric).test ? Math.log10(f.threshold / Math.max(f.score, 1e-300)) : f.score / f.threshold;
}

function orderFeatures(features: FeatureDrift[]): FeatureDrift[] {
  return [...features].sort((a, b) => SEVERITY[a.verdict] - SEVERITY[b.verdict] || excess(b) - excess(a));
}

/** Reasons, in words, why this check has no drift verdict; empty when it has one. */
export function insufficientReasons(input: CheckReportInput): string[] {
  const out: string[] = [];
  const { window: w, drift } = input;
  if (!input.champion) {
    out.push('No champion yet: no model has been trained, so there is no reference profile to compare with. The monitor starts a first training (bootstrap trigger).');
  } else if (drift === null) {
    out.push(input.driftUnavailableReason ?? `Champion v${input.champion.version} has no reference profile (it is built from the training data at training time), so drift was not measured. The next training will record one.`);
  }
  if (w.rows === 0) out.push(`No predictions were logged in the window ${fmtTime(w.from)} → ${fmtTime(w.to)}.`);
  if (drift && drift.evaluatedFeatures === 0) {
    if (drift.features.length === 0) out.push('The reference profile lists no features.');
    const byReason = new Map<string, string[]>();
    for (const f of drift.features) {
      const r = f.reason ?? 'no data to compare';
      byReason.set(r, [...(byReason.get(r) ?? []), f.feature]);
    }
    for (const [reason, names] of byReason) {
      const shown = names.slice(0, 8).join(', ') + (names.length > 8 ? ` and ${names.length - 8} more` : '');
      out.push(`${names.length} feature${names.length === 1 ? '' : 's'} (${shown}): ${reason}.`);
    }
    const min = drift.thresholds.minSamples;
    if (w.rows > 0 && w.rows < min) {
      out.push(`The window has ${fmtInt(w.rows)} rows; each feature needs at least minSamples=${fmtInt(min)} non-missing values on both sides. Widen data.monitorWindow or lower triggers.drift.minSamples to judge on fewer rows.`);
    }
  }
  return out;
}

function overallVerdict(drift: DriftReport | null): 'drift' | 'ok' | 'insufficient_data' {
  if (!drift || drift.evaluatedFeatures === 0) return 'insufficient_data';
  return drift.driftedFeatures > 0 ? 'drift' : 'ok';
}

/** "drifted on 9 of the last 30 days" for a drifted feature, when the check was given its recurrence. */
function recurrence(input: CheckReportInput, f: FeatureDrift): string | undefined {
  const r = input.driftRecurrence;
  const days = f.verdict === 'drift' ? r?.features.find((x) => x.feature === f.feature)?.days : undefined;
  return r && days !== undefined ? `drifted on ${days} of the last ${r.windowDays} day${r.windowDays === 1 ? '' : 's'}` : undefined;
}

function summaryTable(features: FeatureDrift[], index: Map<FeatureDrift, number>, input: CheckReportInput): SafeHtml {
  const withRecurrence = input.driftRecurrence !== undefined;
  const rows: Cell[][] = features.map((f) => [
    html`<a href="#feature-${index.get(f)}">${f.feature}</a>`,
    f.type,
    metricInfo(f.metric).name,
    fmtScore(f.score),
    driftRule(f),
    f.verdict === 'insufficient_data' ? badge(f.verdict, 'insufficient') : badge(f.verdict),
    fmtPct(f.missingRate),
    fmtPct(f.referenceMissingRate),
    `${fmtInt(f.count)} / ${fmtInt(f.referenceCount)}`,
    ...(withRecurrence ? [recurrence(input, f) ?? ''] : []),
  ]);
  return table(
    ['Feature', 'Type', 'Metric', 'Score', 'Drift when', 'Verdict', 'Missing (current)', 'Missing (reference)', 'Values (current / reference)', ...(withRecurrence ? ['Recurrence'] : [])],
    rows,
    { numeric: [3, 6, 7, 8], rowClass: (i) => (features[i].verdict === 'drift' ? 'bad' : features[i].verdict === 'insufficient_data' ? 'neutral' : undefined) },
  );
}

function scoreLine(f: FeatureDrift): SafeHtml {
  const m = metricInfo(f.metric);
  const rule = m.test ? 'drift when below the threshold' : 'drift when above the threshold';
  const stat = f.statistic !== undefined ? html`, statistic ${fmtScore(f.statistic)}` : '';
  const score = html`${m.name} <strong>${fmtScore(f.score)}</strong> against threshold ${fmtNum(f.threshold, 6)} (${rule}${stat})`;
  if (f.verdict === 'insufficient_data') return html`<p>${score}. Not judged: ${f.reason ?? 'no data to compare'}.</p>`;
  return html`<p>${score}.</p>`;
}

function numericalStats(f: Extract<FeatureDrift, { type: 'numerical' }>): SafeHtml {
  const r = f.reference;
  const c = f.current;
  const row = (label: string, key: 'mean' | 'std' | 'min' | 'max'): Cell[] => [label, fmtSig(r?.[key]), fmtSig(c?.[key])];
  return table(['', 'Reference', 'Current'], [
    row('mean', 'mean'), row('std', 'std'), row('min', 'min'), row('max', 'max'),
    ['missing', fmtPct(f.referenceMissingRate), fmtPct(f.missingRate)],
    ['values', fmtInt(f.referenceCount), fmtInt(f.count)],
  ], { numeric: [1, 2] });
}

function categoricalNotes(f: Extract<FeatureDrift, { type: 'categorical' }>): SafeHtml {
  const list = (xs: string[]) => xs.slice(0, 20).map((x, i) => html`${i > 0 ? ', ' : ''}<code>${x}</code>`);
  const more = (xs: string[]) => (xs.length > 20 ? ` and ${xs.length - 20} more` : '');
  return html`${table(['', 'Reference', 'Current'], [
    ['missing', fmtPct(f.referenceMissingRate), fmtPct(f.missingRate)],
    ['values', fmtInt(f.referenceCount), fmtInt(f.count)],
    ['categories', fmtInt(f.categories.length - f.newCategories.length), fmtInt(f.currentProportions ? f.currentProportions.filter((p) => p > 0).length : null)],
  ], { numeric: [1, 2] })}
${f.newCategories.length > 0 ? html`<p class="note">New in the current data: ${list(f.newCategories)}${more(f.newCategories)}.</p>` : ''}
${f.vanishedCategories.length > 0 ? html`<p class="note">Absent from the current data: ${list(f.vanishedCategories)}${more(f.vanishedCategories)}.</p>` : ''}
${f.categories.length > MAX_CHART_CATEGORIES ? html`<p class="note">The chart shows the ${MAX_CHART_CATEGORIES - 1} largest of ${f.categories.length} categories; the rest are summed in one bar.</p>` : ''}`;
}

async function distributionFigure(f: FeatureDrift, names?: [string, string]): Promise<SafeHtml> {
  const spec = distributionSpec(f, names);
  if (!spec) return html`<p class="note">No reference distribution to draw (the reference had no values).</p>`;
  return chart(spec, `${f.feature}: ${names?.[0] ?? 'reference'} vs ${names?.[1] ?? 'current'} distribution`);
}

async function featureSection(f: FeatureDrift, i: number, input: CheckReportInput): Promise<SafeHtml> {
  const recurred = recurrence(input, f);
  return html`<section class="feature" id="feature-${i}">
<h3>${f.feature} ${f.verdict === 'insufficient_data' ? badge(f.verdict, 'insufficient data') : badge(f.verdict)} <span class="note">${f.type}</span></h3>
${scoreLine(f)}
${recurred ? html`<p>Recurrence: ${recurred} (<code>retrain violations ${input.model} --feature ${f.feature}</code>).</p>` : ''}
<div class="cols"><div>${await distributionFigure(f)}</div><div>${f.type === 'numerical' ? numericalStats(f) : categoricalNotes(f)}</div></div>
</section>`;
}

/** The history plus the current check, oldest first, one point per check time. */
function timeline(input: CheckReportInput): CheckHistoryPoint[] {
  const byTime = new Map<string, CheckHistoryPoint>();
  for (const p of input.history) byTime.set(p.checkedAt, p);
  if (!byTime.has(input.checkedAt)) {
    const d = input.drift;
    byTime.set(input.checkedAt, {
      checkedAt: input.checkedAt,
      driftShare: d?.driftShare ?? 0,
      driftedFeatures: d?.driftedFeatures ?? 0,
      evaluatedFeatures: d?.evaluatedFeatures ?? 0,
      verdict: overallVerdict(d),
      performance: input.performance ? { metric: input.performance.metric, value: input.performance.value, labels: input.performance.labels } : undefined,
      labelShift: input.labelShift?.jensenShannon ?? (d?.labelShift?.score ?? undefined),
      rows: input.window.rows,
    });
  }
  return [...byTime.values()].sort((a, b) => Date.parse(a.checkedAt) - Date.parse(b.checkedAt));
}

async function performanceSection(input: CheckReportInput, points: CheckHistoryPoint[]): Promise<SafeHtml> {
  const perf = input.performance;
  const metric = perf?.metric ?? [...points].reverse().find((p) => p.performance)?.performance?.metric;
  const series = points.filter((p) => p.performance && p.performance.metric === metric).map((p) => ({ at: p.checkedAt, value: p.performance!.value }));
  const now = perf
    ? html`<p>${perf.metric} <strong>${fmtNum(perf.value)}</strong> on ${fmtInt(perf.labels)} matured labels${perf.threshold !== undefined ? html` (retrain threshold ${fmtNum(perf.threshold)})` : ''}.</p>`
    : html`<p class="note">No matured labels in this window yet: labels arrive after the model's label delay, so performance is not measured this time.</p>`;
  const fig = series.length > 0 && metric
    ? await chart(timeSeriesSpec(series, { title: metric, format: '.3~f', threshold: perf?.threshold }), `${metric} over time`)
    : '';
  return html`<h2>Performance over time</h2>${now}${fig}`;
}

async function labelShiftSection(input: CheckReportInput): Promise<SafeHtml> {
  const fallback = input.drift?.labelShift ?? null;
  const ls = input.labelShift ?? (fallback && fallback.score !== null
    ? { jensenShannon: fallback.score, samples: fallback.count, threshold: fallback.threshold, distribution: fallback }
    : undefined);
  if (!ls) return html`<h2>Label shift</h2><p class="note">Not measured: no matured labels in the window, or the reference profile has no label.</p>`;
  const verdict = ls.threshold !== undefined ? (ls.jensenShannon > ls.threshold ? 'drift' : 'ok') : ls.distribution?.verdict;
  const dist = ls.distribution ?? null;
  return html`<h2>Label shift</h2>
<p>Jensen–Shannon distance <strong>${fmtScore(ls.jensenShannon)}</strong> between the training labels and ${fmtInt(ls.samples)} matured labels${ls.threshold !== undefined ? html` (threshold ${fmtNum(ls.threshold, 6)})` : ''} ${verdict ? badge(verdict) : ''}</p>
${dist ? await distributionFigure(dist, ['training labels', 'matured labels']) : ''}`;
}

async function historySection(points: CheckHistoryPoint[]): Promise<SafeHtml> {
  const evaluated = points.filter((p) => p.evaluatedFeatures > 0).map((p) => ({ at: p.checkedAt, value: p.driftShare }));
  const shifts = points.filter((p) => typeof p.labelShift === 'number').map((p) => ({ at: p.checkedAt, value: p.labelShift as number }));
  const share = evaluated.length > 0
    ? await chart(timeSeriesSpec(evaluated, { title: 'share of features drifted', format: '.0%', domain: [0, 1] }), 'drift share over time')
    : html`<p class="note">No check so far had enough data to evaluate any feature.</p>`;
  const label = shifts.length > 1 ? await chart(timeSeriesSpec(shifts, { title: 'label shift (Jensen–Shannon)', format: '.3~f' }), 'label shift over time') : '';
  return html`<h2>Drift over time</h2><p class="note">${points.length} check${points.length === 1 ? '' : 's'}, ${fmtTime(points[0]?.checkedAt)} → ${fmtTime(points[points.length - 1]?.checkedAt)}.</p>${share}${label}`;
}

function statusBlock(input: CheckReportInput): SafeHtml {
  const d = input.drift;
  const verdict = overallVerdict(d);
  if (verdict === 'insufficient_data') {
    const reasons = insufficientReasons(input);
    return callout('neutral', 'Insufficient data: drift was not judged', html`<ul>${(reasons.length > 0 ? reasons : ['No feature had enough data to compare.']).map((r) => html`<li>${r}</li>`)}</ul>`);
  }
  const dd = d as DriftReport;
  // No share of drifted features decides anything: a retrain on drift rests on what the drifted
  // features cost the model (their importance, the label-free estimate), shown under Evidence.
  const text = `${dd.driftedFeatures} of ${dd.evaluatedFeatures} evaluated feature${dd.evaluatedFeatures === 1 ? '' : 's'} drifted (${fmtPct(dd.driftShare, 0)})`;
  const skipped = dd.insufficientFeatures > 0 ? html`<div class="note">${dd.insufficientFeatures} feature${dd.insufficientFeatures === 1 ? '' : 's'} could not be judged (see the table).</div>` : '';
  // The report is written before the monitor weighs the triggers; what fired is in the monitor
  // workflow's result and `retrain backtest`, the evidence they weigh is here.
  const evidence = input.estimate || input.sequential || input.labels || input.driftImpact;
  const worth = html`<div class="note">Whether drift starts a retrain depends on what the drifted features cost the model (their importance and the label-free estimate of accuracy), not on how many drifted${evidence ? html`: see <em>Evidence for a retrain</em>` : ''}.</div>`;
  return verdict === 'drift'
    ? callout('bad', 'Drift', html`${text}: ${dd.driftedFeatureNames.join(', ')}.${worth}${skipped}`)
    : callout('good', 'No drift', html`${text}.${skipped}`);
}

/** Renders the check report as one self-contained HTML document (inline CSS and SVG, no scripts, no URLs). */
/** The numbers the retrain decision rests on: label-free estimate, matured error evidence, coverage, drift impact. */
function evidenceBlock(input: CheckReportInput): SafeHtml {
  const e = input.estimate;
  const s = input.sequential;
  const pairs: Array<[string, string]> = [];
  if (e) pairs.push([`Estimated ${e.metric} (label-free, CBPE)`, `${fmtPct(e.value)} [${fmtPct(e.lower)}, ${fmtPct(e.upper)}] on ${fmtInt(e.samples)} scores${e.baseline !== undefined ? `; validated ${fmtPct(e.baseline)}` : ''}`]);
  if (s) pairs.push(['Matured error rate vs baseline', `${s.errorRate === undefined ? 'no matured errors yet' : `${fmtPct(s.errorRate)} [${fmtPct(s.lower)}, ${fmtPct(s.upper)}]`} vs validated ${fmtPct(s.baselineError)} + ${fmtPct(s.tolerance)} tolerance; evidence ${s.statistic.toFixed(2)} of ${s.threshold.toFixed(2)} needed${s.fired ? ' (reached)' : ''} after ${fmtInt(s.samples)} matured predictions`]);
  if (input.labels) pairs.push(['Label coverage', `${fmtInt(input.labels.labelled)} of ${fmtInt(input.labels.matured)} matured predictions labelled (${fmtPct(input.labels.coverage, 0)})${input.labels.revised ? `; ${fmtInt(input.labels.revised)} revised` : ''}`]);
  if (input.driftImpact) pairs.push(['Is the drift worth a retrain?', `${input.driftImpact.material ? 'yes' : 'no'}: ${input.driftImpact.reason}`]);
  return pairs.length ? html`<h2>Evidence for a retrain</h2>${facts(pairs)}` : html``;
}

const QUALITY_CHECKS: Record<string, string> = { missing_rate: 'missing values', out_of_range: 'outside the reference range', unseen_categories: 'unseen categories', mean_shift: 'mean shift' };

/** The data-quality violations, each with its measured value against its limit; "new" marks those this check alerted on. */
function dataQualityBlock(input: CheckReportInput): SafeHtml {
  const q = input.dataQuality;
  if (!q) return html``;
  if (q.violations.length === 0) return html`<h2>Data quality</h2><p>${fmtInt(q.checked)} checks against the reference passed (missing values, range, unseen categories, mean shift of key features).</p>`;
  const value = (v: { check: string; value: number }) => (v.check === 'mean_shift' ? `${fmtNum(v.value, 3)} standard errors` : fmtPct(v.value));
  const limit = (v: { check: string; threshold: number }) => (v.check === 'mean_shift' ? `±${fmtNum(v.threshold, 3)}` : fmtPct(v.threshold));
  const rows: Cell[][] = q.violations.map((v) => [
    v.feature,
    QUALITY_CHECKS[v.check] ?? v.check,
    value(v),
    limit(v),
    v.check === 'missing_rate' ? fmtPct(v.reference) : v.check === 'mean_shift' ? fmtNum(v.reference, 4) : '—',
    fmtInt(v.samples),
    q.started?.includes(`${v.feature}/${v.check}`) ? badge('warn', 'new: alerted') : 'ongoing',
  ]);
  return html`<h2>Data quality ${badge('drift', `${q.violations.length} violation${q.violations.length === 1 ? '' : 's'}`)}</h2>
${table(['Feature', 'Check', 'Window', 'Limit', 'Reference', 'Rows', 'Alert'], rows)}
<p class="note">${fmtInt(q.checked)} checks in all. Violations are kept in the violations store (<code>retrain violations ${input.model}</code>) and alerted once, when they appear; they start a retrain only with <code>triggers.dataQuality.action: retrain</code>.</p>`;
}

export async function renderCheckReport(input: CheckReportInput): Promise<string> {
  const d = input.drift;
  const verdict = overallVerdict(d);
  const points = timeline(input);
  const features = d ? orderFeatures(d.features) : [];
  const index = new Map(features.map((f, i) => [f, i]));
  const sections: SafeHtml[] = [];
  for (const [i, f] of features.entries()) sections.push(await featureSection(f, i, input));

  const body = html`<h1>Drift check: ${input.model} ${verdict === 'insufficient_data' ? badge(verdict, 'insufficient data') : badge(verdict)}</h1>
<p class="sub">Checked ${fmtTime(input.checkedAt)}</p>
${facts([
    ['Model', input.model],
    ['Window', `${fmtTime(input.window.from)} → ${fmtTime(input.window.to)}`],
    ['Predictions in window', fmtInt(input.window.rows)],
    ['Champion', input.champion ? `v${input.champion.version}, trained ${fmtTime(input.champion.trainedAt)}` : 'none yet'],
    ['New labels since the last run', fmtInt(input.newLabels)],
    ['Last retrain', input.lastRetrainAt ? fmtTime(input.lastRetrainAt) : 'never'],
  ])}
${statusBlock(input)}
${evidenceBlock(input)}
${dataQualityBlock(input)}
${features.length > 0 ? html`<h2>Features</h2>${summaryTable(features, index, input)}<p class="note">Scores compare the current window with the champion's reference profile. Distances (PSI, Jensen–Shannon, Wasserstein) drift above their threshold, p-values (KS, χ²) below it. Missing rate counts null, NaN and infinite values.</p>` : ''}
${await performanceSection(input, points)}
${await learningSection(input.learning)}
${await labelShiftSection(input)}
${await historySection(points)}
${sections.length > 0 ? html`<h2>Feature details</h2><p class="note">Shares of rows per bin of the reference's PSI bins (numerical) or per category, reference in grey, current in blue.</p>${sections}` : ''}`;
  return page(`Drift check: ${input.model} at ${fmtTime(input.checkedAt)}`, body, `retrain drift check report · ${input.model} · ${input.checkedAt}`);
}
