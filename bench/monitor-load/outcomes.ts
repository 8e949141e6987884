/** What the checks decided, counted the same way for Temporal rounds and in-process rounds. */
import type { CheckResult } from '../../src/activities/contracts.js';
import type { ModelSpec } from '../../src/config/schema.js';

export interface Outcomes {
  actions: Record<string, number>;
  drift: Record<string, number>;
  performanceJudged: number;
  /** Checks that came back with a reportPath (0 expected in the "no report" rounds). */
  reportsWritten: number;
  windowRows: number[];
  maturedLabels: number[];
}

export function emptyOutcomes(): Outcomes {
  return { actions: {}, drift: {}, performanceJudged: 0, reportsWritten: 0, windowRows: [], maturedLabels: [] };
}

export function countOutcome(o: Outcomes, spec: ModelSpec, check: CheckResult, action: string): void {
  o.actions[action] = (o.actions[action] ?? 0) + 1;
  o.drift[check.drift.verdict] = (o.drift[check.drift.verdict] ?? 0) + 1;
  if (check.performance && check.performance.labels >= spec.triggers.performance.minLabels) o.performanceJudged++;
  if (check.reportPath) o.reportsWritten++;
  o.windowRows.push(check.window.rows);
  o.maturedLabels.push(check.performance?.labels ?? 0);
}
