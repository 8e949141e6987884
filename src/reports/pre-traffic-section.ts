import type { PreTrafficRecord } from '../domain/pre-traffic.js';
import { callout, fmtInt, fmtNum, html, table, type Cell, type SafeHtml } from './html.js';

/**
 * The run report's pre-traffic section: what the synthetic requests were (per category), what
 * they found (each failure with its row and reason), and the latency against the budget. Runs
 * without the checks (runs from before the `pre-traffic-checks` patch, a first model, checks disabled) show nothing.
 */
export function preTrafficSection(input: { preTraffic?: PreTrafficRecord }): SafeHtml | string {
  const r = input.preTraffic;
  if (!r) return '';
  const summary = r.passed
    ? callout('good', 'Passed', r.reason)
    : callout('bad', 'Failed: the challenger got no traffic', r.reason);
  const categories: Array<[string, string]> = [
    ['typical', 'reference medians and modes, quartiles, frequent categories'],
    ['edge', 'reference min, max, 1st and 99th percentile of each numerical feature; all at once; rarest categories'],
    ['missing', 'each feature null in turn, all null; each feature left out (the schema refuses it)'],
    ['unseen', 'categories the reference never had, empty, longest allowed'],
  ];
  const failedIn = (c: string) => r.failures.filter((f) => f.category === c).length;
  const rows: Cell[][] = categories.map(([c, what]) => [c, what, fmtInt(r.requests[c as keyof PreTrafficRecord['requests']]), failedIn(c) ? fmtInt(failedIn(c)) : '0']);
  const failures = r.failures.map((f): Cell[] => [f.category, f.label, f.reason, f.row ? JSON.stringify(f.row) : null]);
  const more = r.failureCount > r.failures.length ? html`<p class="note">${r.failureCount - r.failures.length} more failures are not listed.</p>` : '';
  return html`<h2>Pre-traffic checks</h2>
<p class="note">Before any live traffic, synthetic requests built from the ${r.profile === 'none' ? 'model spec (no reference profile was stored)' : `${r.profile}'s reference profile`} went through the gateway to v${r.version} alone, staged with no traffic; none of them is logged as traffic, so the canary's evidence and the monitors never count them.</p>
${summary}
${table(['Category', 'Rows', 'Requests', 'Failures'], rows, { numeric: [2, 3] })}
<p>${fmtInt(r.scored)} scored in range, ${fmtInt(r.refusedAsExpected)} refused as the model's schema requires${r.leftOut ? `, ${fmtInt(r.leftOut)} left out (rollout.preTraffic.maxRequests)` : ''}. Latency in the gateway: p50 ${fmtNum(r.latencyMs.p50, 2)} ms, p99 ${fmtNum(r.latencyMs.p99, 2)} ms (budget ${fmtNum(r.budgetMs, 0)} ms), max ${fmtNum(r.latencyMs.max, 2)} ms.</p>
${failures.length ? html`<h3>Failures</h3>${table(['Category', 'Request', 'Reason', 'Row sent'], failures, { rowClass: () => 'bad' })}${more}` : ''}`;
}
