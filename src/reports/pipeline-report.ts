/**
 * The pipeline report: one HTML page per retraining run, with the holdout comparison, slices,
 * gates, the approval, the canary's live numbers per step and the outcome.
 *
 * The input mirrors the workflow's PipelineStatus field for field (gates, approvalReasons,
 * decisions, analyses, evaluation, candidateVersion, datasetId, outcome), so a caller can spread
 * the status in and add the run's identity, trigger and times.
 */
import { LOWER_IS_BETTER, type MetricName } from '../config/policies.js';
import type { RunbookKind } from '../config/schema.js';
import type { CanaryEvidence, LiveComparison, StepRecord, VariantEvidence } from '../domain/canary.js';
import type { Evaluation, GateResult } from '../domain/evaluation.js';
import type { PreTrafficRecord } from '../domain/pre-traffic.js';
import type { DecisionRecord } from '../domain/status.js';
import { chart, smallMultiplesSpec, type BarPanel } from './charts.js';
import { preTrafficSection } from './pre-traffic-section.js';
import {
  badge, callout, facts, fmtDuration, fmtInt, fmtNum, fmtPct, fmtTime, html, page, table, toneOf, type Cell, type SafeHtml,
} from './html.js';

/** One canary analysis (PipelineStatus.analyses) plus the live numbers it judged, when recorded. */
export interface CanaryAnalysis {
  at: string;
  step: number;
  weight: number;
  verdict: 'pass' | 'fail' | 'inconclusive';
  detail: string;
  stage?: 'shadow' | 'canary';
  /** The lake's evidence since the step started, as judged (runs from the `canary-durable-evidence` patch on); cumulative over the step. */
  evidence?: CanaryEvidence;
  /** The gateway's in-memory numbers, in runs whose canary began before the `canary-durable-evidence` patch. */
  live?: LiveComparison;
}

/** One variant's numbers as the report shows them, from either kind of record. */
type VariantView = Pick<VariantEvidence, 'requests' | 'errors' | 'p50LatencyMs' | 'p99LatencyMs' | 'labelled' | 'accuracy'>;
type ComparisonView = Record<'champion' | 'challenger', VariantView>;

function viewOf(a: CanaryAnalysis): ComparisonView | undefined {
  if (a.evidence) return { champion: a.evidence.champion, challenger: a.evidence.challenger };
  if (!a.live) return undefined;
  const v = (x: LiveComparison['champion']): VariantView => ({ ...x, labelled: x.labelledSamples });
  return { champion: v(a.live.champion), challenger: v(a.live.challenger) };
}

export interface PipelineReportInput {
  model: string;
  workflowId: string;
  runId: string;
  trigger: { kinds: string[]; reasons: string[]; requestedBy?: string };
  startedAt: string;
  endedAt?: string;
  /** Current stage, shown while the run has no outcome yet (e.g. a report rendered for the approver). */
  stage?: string;
  outcome?: { result: string; reason: string };
  candidateVersion?: number;
  datasetId?: string;
  /** The gates' metric (spec.gates.metric): listed first, and the metric of the slice comparisons. */
  metric?: string;
  evaluation?: Evaluation;
  gates?: GateResult[];
  approvalReasons?: string[];
  /** Every approval decision and control signal, accepted or refused (PipelineStatus.decisions). */
  decisions?: DecisionRecord[];
  analyses?: CanaryAnalysis[];
  /** The synthetic requests sent to the challenger before any traffic (PipelineStatus.preTraffic, from the `pre-traffic-checks` patch on). */
  preTraffic?: PreTrafficRecord;
  /** Each step as the workflow judged it (PipelineStatus.steps, from the `canary-durable-evidence` patch on); older runs' steps are rebuilt from the analyses. */
  steps?: StepRecord[];
  /** The model's runbooks by notification kind (filled by the worker from its config, never from the run). */
  runbooks?: Partial<Record<RunbookKind, string>>;
}

const lowerIsBetter = (metric: string) => LOWER_IS_BETTER.has(metric as MetricName);
const NAMES: [string, string] = ['champion', 'challenger'];

/** Challenger minus champion, signed so that positive is an improvement. */
function gain(metric: string, champion: number, challenger: number): number {
  return lowerIsBetter(metric) ? champion - challenger : challenger - champion;
}

function deltaCell(metric: string, champion: number | undefined, challenger: number | undefined): SafeHtml | string {
  if (champion === undefined || challenger === undefined || !Number.isFinite(champion) || !Number.isFinite(challenger)) return '';
  const d = challenger - champion;
  const g = gain(metric, champion, challenger);
  const word = Math.abs(g) < 1e-12 ? 'equal' : g > 0 ? 'better' : 'worse';
  return html`${d > 0 ? '+' : ''}${fmtNum(d)} ${badge(word === 'better' ? 'ok' : word === 'worse' ? 'fail' : 'neutral', word)}`;
}

function metricOrder(evaluation: Evaluation, primary?: string): string[] {
  const keys = new Set([...Object.keys(evaluation.challenger.metrics), ...Object.keys(evaluation.champion?.metrics ?? {})]);
  const list = [...keys].sort();
  return primary && keys.has(primary) ? [primary, ...list.filter((k) => k !== primary)] : list;
}

async function holdoutSection(input: PipelineReportInput): Promise<SafeHtml> {
  const ev = input.evaluation;
  if (!ev) return html`<h2>Holdout evaluation</h2><p class="note">The run ended before the evaluation.</p>`;
  const champ = ev.champion;
  const metrics = metricOrder(ev, input.metric);
  const rows: Cell[][] = metrics.map((m) => [
    html`${m}${m === input.metric ? html` <span class="note">(gates)</span>` : ''}${lowerIsBetter(m) ? html` <span class="note">lower is better</span>` : ''}`,
    champ ? fmtNum(champ.metrics[m]) : null,
    fmtNum(ev.challenger.metrics[m]),
    deltaCell(m, champ?.metrics[m], ev.challenger.metrics[m]),
  ]);
  if (ev.latencyMs !== undefined) rows.push(['latency per prediction (ms)', null, fmtNum(ev.latencyMs, 3), '']);
  const heads = ['Metric', champ ? `Champion v${champ.version}` : 'Champion', `Challenger v${ev.challenger.version}`, 'Δ'];
  // Metrics within [0, 1] share one panel; the unbounded ones (log loss, errors) get their own.
  const unit = metrics.filter((m) => [champ?.metrics[m], ev.challenger.metrics[m]].every((v) => v === undefined || (v >= 0 && v <= 1)));
  const panels: BarPanel[] = [];
  const bars = (ms: string[]) => ms.flatMap((m) => [
    { group: m, series: NAMES[0], value: champ?.metrics[m] },
    { group: m, series: NAMES[1], value: ev.challenger.metrics[m] },
  ]);
  if (unit.length > 0) panels.push({ title: 'metrics in [0, 1]', format: '.2f', bars: bars(unit) });
  for (const m of metrics.filter((x) => !unit.includes(x))) panels.push({ title: m, format: '~s', bars: bars([m]) });
  const spec = smallMultiplesSpec(panels, NAMES);
  return html`<h2>Holdout evaluation</h2>
<p class="note">Champion and challenger scored on the same holdout.${champ ? '' : ' There is no champion yet: this is the first model.'}</p>
${table(heads, rows, { numeric: [1, 2, 3] })}
${spec ? await chart(spec, 'champion vs challenger holdout metrics') : ''}`;
}

async function slicesSection(input: PipelineReportInput): Promise<SafeHtml | string> {
  const slices = input.evaluation?.slices ?? [];
  if (slices.length === 0) return '';
  const metric = input.metric ?? 'metric';
  const ranked = [...slices].sort((a, b) => gain(metric, a.champion, a.challenger) - gain(metric, b.champion, b.challenger));
  const shown = ranked.slice(0, 200);
  const rows: Cell[][] = shown.map((s) => [s.feature, s.value, fmtInt(s.samples), fmtNum(s.champion), fmtNum(s.challenger), deltaCell(metric, s.champion, s.challenger)]);
  const worst = ranked.slice(0, 12);
  const spec = smallMultiplesSpec([{
    title: `${metric} on the worst slices`,
    format: '.2f',
    bars: worst.flatMap((s) => [
      { group: `${s.feature}=${s.value}`, series: NAMES[0], value: s.champion },
      { group: `${s.feature}=${s.value}`, series: NAMES[1], value: s.challenger },
    ]),
  }], NAMES);
  return html`<h2>Slices</h2>
<p class="note">${metric} per slice of the holdout, worst change for the challenger first${ranked.length > shown.length ? `; showing ${shown.length} of ${ranked.length}` : ''}.</p>
${table(['Feature', 'Value', 'Samples', 'Champion', 'Challenger', 'Δ'], rows, { numeric: [2, 3, 4, 5] })}
${spec ? await chart(spec, 'slice comparison') : ''}`;
}

function gateWord(g: GateResult): string {
  if (g.passed) return 'passed';
  return g.severity === 'reject' ? 'failed' : g.severity === 'approval' ? 'flagged' : 'warn';
}

function gatesSection(input: PipelineReportInput): SafeHtml | string {
  const gates = input.gates ?? [];
  if (gates.length === 0) return input.evaluation ? html`<h2>Gates</h2><p class="note">No gate results recorded.</p>` : '';
  const rows: Cell[][] = gates.map((g) => [g.name, badge(gateWord(g)), g.severity, g.detail]);
  return html`<h2>Gates</h2>${table(['Gate', 'Result', 'On failure', 'Detail'], rows, { rowClass: (i) => (gateWord(gates[i]) === 'failed' ? 'bad' : undefined) })}`;
}

const APPROVAL_KINDS = new Set(['approve', 'reject', 'timeout']);

function approvalSection(input: PipelineReportInput): SafeHtml | string {
  const reasons = input.approvalReasons ?? [];
  const decisions = input.decisions ?? [];
  if (reasons.length === 0 && decisions.length === 0) return '';
  const final = [...decisions].reverse().find((d) => d.accepted && APPROVAL_KINDS.has(d.kind));
  let summary: SafeHtml | string = '';
  if (final) {
    const approved = final.kind === 'approve' || (final.kind === 'timeout' && final.by.endsWith('=approve'));
    summary = callout(approved ? 'good' : 'bad', approved ? 'Approved' : 'Rejected', html`by <strong>${final.by}</strong> at ${fmtTime(final.at)}${final.detail ? html`: “${final.detail}”` : ''}`);
  } else if (reasons.length > 0) {
    summary = callout('neutral', 'Awaiting approval', 'No decision has been recorded yet.');
  }
  const rows: Cell[][] = decisions.map((d) => [fmtTime(d.at), d.kind, d.by, d.accepted ? badge('ok', 'accepted') : badge('refused'), d.detail || null]);
  return html`<h2>Approval and decisions</h2>
${reasons.length > 0 ? html`<p>Approval was required because:</p><ul>${reasons.map((r) => html`<li>${r}</li>`)}</ul>` : html`<p class="note">No approval was required.</p>`}
${summary}
${decisions.length > 0 ? table(['At', 'Decision', 'By', 'Accepted', 'Comment or refusal'], rows, { rowClass: (i) => (decisions[i].accepted ? undefined : 'neutral') }) : ''}`;
}

export interface CanaryStep {
  step: number;
  weight: number;
  stage: 'shadow' | 'canary';
  firstAnalysisAt: string;
  lastAnalysisAt: string;
  analyses: number;
  verdicts: Record<'pass' | 'fail' | 'inconclusive', number>;
  /** The step's verdict: as the workflow recorded it, or (older runs) that of its last analysis. */
  verdict: string;
  /** What the verdict rests on (traffic, labels, label-free, shadow) and why, when the workflow recorded it. */
  evidence?: string[];
  reason?: string;
  /** Numbers of the step's last analysis that recorded them (cumulative over the step). */
  live?: ComparisonView;
}

/** The steps with their numbers: the workflow's own step records where it kept them, else grouped from the analyses. */
export function canarySteps(analyses: CanaryAnalysis[], records: StepRecord[] = []): CanaryStep[] {
  const steps = new Map<number, CanaryStep>();
  for (const a of [...analyses].sort((x, y) => x.step - y.step || Date.parse(x.at) - Date.parse(y.at))) {
    let s = steps.get(a.step);
    if (!s) {
      s = { step: a.step, weight: a.weight, stage: a.stage ?? 'canary', firstAnalysisAt: a.at, lastAnalysisAt: a.at, analyses: 0, verdicts: { pass: 0, fail: 0, inconclusive: 0 }, verdict: a.verdict };
      steps.set(a.step, s);
    }
    s.analyses++;
    s.verdicts[a.verdict] = (s.verdicts[a.verdict] ?? 0) + 1;
    s.lastAnalysisAt = a.at;
    s.verdict = a.verdict;
    s.live = viewOf(a) ?? s.live;
  }
  for (const r of records) {
    const s = steps.get(r.step);
    if (!s) continue;
    s.verdict = r.verdict ?? 'running';
    s.evidence = r.evidence;
    s.reason = r.reason;
  }
  return [...steps.values()];
}

const errorRate = (v: VariantView) => (v.requests > 0 ? v.errors / v.requests : null);

async function canarySection(input: PipelineReportInput): Promise<SafeHtml | string> {
  const analyses = input.analyses ?? [];
  if (analyses.length === 0) {
    if (input.evaluation && !input.evaluation.champion && input.outcome?.result === 'promoted') {
      return html`<h2>Canary</h2><p class="note">First model: promoted without a canary (no champion to compare with).</p>`;
    }
    return html`<h2>Canary</h2><p class="note">No canary analysis was recorded for this run.</p>`;
  }
  const steps = canarySteps(analyses, input.steps);
  const rows: Cell[][] = [];
  const rowTone: Array<string | undefined> = [];
  for (const s of steps) {
    for (const [i, name] of NAMES.entries()) {
      const v = s.live?.[name as 'champion' | 'challenger'];
      rows.push([
        i === 0 ? html`<strong>${s.step}</strong>` : '', i === 0 ? (s.stage === 'shadow' ? 'shadow' : `${s.weight}%`) : '', name === 'challenger' && s.stage === 'shadow' ? 'shadow' : name,
        v ? fmtInt(v.requests) : null, v ? fmtInt(v.errors) : null, v ? fmtPct(errorRate(v), 2) : null,
        v ? fmtNum(v.p50LatencyMs, 1) : null, v ? fmtNum(v.p99LatencyMs, 1) : null,
        v ? fmtInt(v.labelled) : null, v?.accuracy !== undefined ? fmtPct(v.accuracy, 2) : null,
        i === 0 ? html`${badge(s.verdict)} <span class="note">${s.analyses} analys${s.analyses === 1 ? 'is' : 'es'}</span>` : '',
        i === 0 ? (s.evidence?.length ? `on ${s.evidence.join(' + ')}` : '') : s.reason ?? '',
      ]);
      rowTone.push(i === 0 && s.verdict === 'fail' ? 'bad' : undefined);
    }
  }
  const label = (s: CanaryStep) => `step ${s.step} · ${s.weight}%`;
  const panel = (title: string, format: string, pick: (v: VariantView) => number | null | undefined): BarPanel => ({
    title, format,
    bars: steps.flatMap((s) => NAMES.map((n) => ({ group: label(s), series: n, value: s.live ? pick(s.live[n as 'champion' | 'challenger']) : null }))),
  });
  const spec = smallMultiplesSpec([
    panel('requests', '~s', (v) => v.requests),
    panel('error rate', '.1%', errorRate),
    panel('p99 latency (ms)', '~s', (v) => v.p99LatencyMs),
    panel('accuracy (matured labels)', '.0%', (v) => v.accuracy),
  ], NAMES);
  const recent = analyses.slice(-100);
  const log = table(['At', 'Step', 'Weight', 'Verdict', 'Detail'], recent.map((a) => [fmtTime(a.at), a.step, `${a.weight}%`, badge(a.verdict), a.detail]), { numeric: [1, 2] });
  const missingLive = steps.some((s) => !s.live);
  return html`<h2>Canary</h2>
<p class="note">Live numbers per variant since each step started, as of the step's last analysis (from the lake: every replica's logged predictions and every label arrived, whatever its age). A step passes only on its traffic and labelled metrics; label-free signals can only fail it. The last column says what each verdict rests on.${missingLive ? ' Steps without live numbers recorded show dashes.' : ''}</p>
${table(['Step', 'Weight', 'Variant', 'Requests', 'Errors', 'Error rate', 'p50 ms', 'p99 ms', 'Labelled', 'Accuracy', 'Verdict', 'Evidence'], rows, { numeric: [3, 4, 5, 6, 7, 8, 9], rowClass: (i) => rowTone[i] })}
${spec ? await chart(spec, 'canary live metrics per step') : ''}
<h3>Analyses${analyses.length > recent.length ? ` (last ${recent.length} of ${analyses.length})` : ''}</h3>
${log}`;
}

function outcomeBlock(input: PipelineReportInput): SafeHtml {
  const o = input.outcome;
  if (!o) return callout('neutral', 'In progress', `The run is at stage ${input.stage ?? 'unknown'}; this report shows what is known so far.`);
  const tone = toneOf(o.result);
  return callout(tone === 'warn' ? 'neutral' : tone, o.result.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()), o.reason);
}

/** The model's runbooks as links named by notification kind; only http(s) links, whatever the input holds. */
function runbookLinks(input: PipelineReportInput): SafeHtml | undefined {
  const links = Object.entries(input.runbooks ?? {}).filter(([, url]) => typeof url === 'string' && /^https?:\/\//i.test(url));
  if (links.length === 0) return undefined;
  return html`${links.map(([kind, url], i) => html`${i > 0 ? ', ' : ''}<a href="${url}" rel="noreferrer">${kind.replace(/_/g, ' ')}</a>`)}`;
}

/** Renders the pipeline report as one self-contained HTML document (inline CSS and SVG, no scripts, nothing fetched; the only links are the model's runbooks). */
export async function renderPipelineReport(input: PipelineReportInput): Promise<string> {
  const ev = input.evaluation;
  const result = input.outcome?.result ?? input.stage ?? 'in_progress';
  const runbooks = runbookLinks(input);
  const body = html`<h1>Retraining run: ${input.model} ${badge(result)}</h1>
<p class="sub">Started ${fmtTime(input.startedAt)}${input.endedAt ? html`, ended ${fmtTime(input.endedAt)} (${fmtDuration(input.startedAt, input.endedAt)})` : ''}</p>
${facts([
    ['Model', input.model],
    ['Candidate', input.candidateVersion !== undefined ? `v${input.candidateVersion}` : null],
    ['Champion', ev?.champion ? `v${ev.champion.version}` : ev ? 'none (first model)' : null],
    ['Triggers', input.trigger.kinds.join(', ') || null],
    ['Requested by', input.trigger.requestedBy ?? null],
    ['Dataset', input.datasetId ?? null],
    ['Workflow', input.workflowId],
    ['Run', input.runId],
    ...(runbooks ? [['Runbooks', runbooks] as [string, SafeHtml]] : []),
  ])}
${outcomeBlock(input)}
${input.trigger.reasons.length > 0 ? html`<h2>Why this run</h2><ul>${input.trigger.reasons.map((r) => html`<li>${r}</li>`)}</ul>` : ''}
${await holdoutSection(input)}
${await slicesSection(input)}
${gatesSection(input)}
${approvalSection(input)}
${preTrafficSection(input)}
${await canarySection(input)}`;
  return page(`Retraining run: ${input.model} (${input.workflowId})`, body, `retrain pipeline report · ${input.model} · ${input.workflowId} · ${input.runId}`);
}
