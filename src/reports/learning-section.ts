import { chart, timeSeriesSpec } from './charts.js';
import { badge, facts, fmtInt, fmtNum, fmtTime, html, type SafeHtml } from './html.js';

/** What the check report shows of a model's online learner (learning: online | hybrid). */
export interface LearningReport {
  mode: 'online' | 'hybrid';
  /** The gates metric the snapshots are judged with, on the champion's holdout. */
  metric: string;
  base: number;
  /** The champion's own value of `metric` on that holdout (the first snapshot's comparison). */
  championMetric: number | null;
  /** What serves the champion's traffic besides it: the copy's version, or null (the champion alone). */
  serving: string | null;
  frozen: { at: string; reason: string; snapshotVersion: number } | null;
  totals: { steps: number; applied: number; skipped: number; dropped: number; correct: number };
  snapshots: Array<{ version: number; at: string; copy: string; metric: number; verdict: 'good' | 'worse' }>;
}

/**
 * The online learner beside the drift check: what serves, what it learned, and each snapshot's
 * metric over time against the champion's on the same holdout (the dashed line), so a reader sees
 * whether the copy earns its share of the traffic and when it was frozen.
 */
export async function learningSection(l: LearningReport | undefined): Promise<SafeHtml | string> {
  if (!l) return '';
  const state = l.frozen ? badge('drift', 'frozen') : badge('ok', 'learning');
  const series = l.snapshots.map((s) => ({ at: s.at, value: s.metric }));
  const fig = series.length > 0
    ? await chart(timeSeriesSpec(series, { title: `${l.metric} of each snapshot (champion dashed)`, format: '.4~f', threshold: l.championMetric ?? undefined }), `${l.metric} of the online snapshots over time`)
    : html`<p class="note">No snapshot yet: the first is taken once the copy has learned and learning.snapshotEvery has passed.</p>`;
  const rows = l.snapshots.slice(-10).reverse().map((s) => html`<tr><td>v${s.version}</td><td>${s.copy}</td><td>${fmtTime(s.at)}</td><td>${fmtNum(s.metric)}</td><td>${badge(s.verdict === 'good' ? 'ok' : 'drift', s.verdict)}</td></tr>`);
  return html`<h2>Online learning (${l.mode}) ${state}</h2>
${facts([
    ['Grown from', `champion v${l.base}`],
    ['Serving', l.serving ? `${l.serving}${l.mode === 'hybrid' ? ' blended with the champion' : ''}` : 'the champion alone'],
    ['Labels learned', `${fmtInt(l.totals.applied)} in ${fmtInt(l.totals.steps)} steps (${fmtInt(l.totals.dropped)} left out by the rate bound, ${fmtInt(l.totals.skipped)} refused)`],
    ['Prequential accuracy', l.totals.applied > 0 && l.totals.correct > 0 ? fmtNum(l.totals.correct / l.totals.applied) : 'n/a'],
    ['Frozen', l.frozen ? `since ${fmtTime(l.frozen.at)}: snapshot v${l.frozen.snapshotVersion} ${l.frozen.reason}` : 'no'],
  ])}
${fig}
${rows.length > 0 ? html`<table><thead><tr><th>snapshot</th><th>copy</th><th>taken</th><th>${l.metric}</th><th>verdict</th></tr></thead><tbody>${rows}</tbody></table>` : ''}`;
}
