import { facts, fmtInt, fmtPct, html, page, table } from './html.js';

/** What the backtest report shows: the replayed decisions (the shape `retrain backtest --json` prints). */
export interface BacktestReportInput {
  model: string;
  from: string;
  to: string;
  every: string;
  settings: string[];
  pipelines: number;
  summary: Record<string, { fired: number; started: number }>;
  decisions: Array<{
    at: string;
    action: string;
    fired: Array<{ kind: string; reason: string }>;
    considered: Array<{ kind: string; fired: boolean; evidence: string }>;
    evidence: { rows: number; drifted: string[]; estimate?: { value: number; baseline?: number }; labels?: { coverage: number }; sequential?: { errorRate?: number; statistic: number; threshold: number } };
  }>;
}

/**
 * One self-contained page: the settings replayed, a summary per trigger, and every check that
 * fired or would have started a pipeline, with its evidence (quiet checks are counted, not listed).
 */
export function renderBacktestReport(input: BacktestReportInput): string {
  const eventful = input.decisions.filter((d) => d.fired.length > 0);
  const summary = Object.entries(input.summary).map(([kind, s]) => [kind, fmtInt(s.fired), fmtInt(s.started)]);
  const rows = eventful.map((d) => [
    d.at,
    d.action.replace('_', ' '),
    d.fired.map((f) => `${f.kind}: ${f.reason}`).join('; '),
    d.evidence.estimate ? `${fmtPct(d.evidence.estimate.value)}${d.evidence.estimate.baseline !== undefined ? ` vs ${fmtPct(d.evidence.estimate.baseline)}` : ''}` : null,
    d.evidence.sequential?.errorRate !== undefined ? `${fmtPct(d.evidence.sequential.errorRate)} (${d.evidence.sequential.statistic.toFixed(1)} / ${d.evidence.sequential.threshold.toFixed(1)})` : null,
    d.evidence.labels ? fmtPct(d.evidence.labels.coverage, 0) : null,
  ]);
  const body = html`<h1>Backtest of ${input.model}</h1>
${facts([
  ['from', input.from],
  ['to', input.to],
  ['every', input.every],
  ['checks', fmtInt(input.decisions.length)],
  ['pipelines it would have started', fmtInt(input.pipelines)],
  ['settings', input.settings.length ? input.settings.join(', ') : 'as configured'],
])}
<h2>Per trigger</h2>
${summary.length ? table(['trigger', 'checks it fired on', 'pipelines it started'], summary, { numeric: [1, 2] }) : html`<p>No trigger fired in this period.</p>`}
<h2>Checks where a trigger fired (${fmtInt(eventful.length)} of ${fmtInt(input.decisions.length)})</h2>
${rows.length ? table(['as of', 'decision', 'why', 'estimated accuracy (label-free)', 'matured error rate (evidence / threshold)', 'label coverage'], rows) : html`<p>None.</p>`}`;
  return page(`backtest ${input.model}`, body);
}
