import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderCheckReport, type CheckReportInput } from '../../src/reports/index.js';
import { driftScenario } from './helpers.js';

/** The check report's recurrence of drifted features, from the registry's violations (income and country drift here). */
const { report } = driftScenario();
const input = (driftRecurrence?: CheckReportInput['driftRecurrence']): CheckReportInput => ({
  model: 'churn',
  checkedAt: '2024-05-02T12:00:00.000Z',
  window: { from: '2024-05-01T12:00:00.000Z', to: '2024-05-02T12:00:00.000Z', rows: 4000 },
  champion: { version: 6, trainedAt: '2024-04-01T00:00:00.000Z' },
  drift: report,
  newLabels: 0,
  history: [],
  driftRecurrence,
});

describe('check report: drift recurrence', () => {
  it('shows each drifted feature\'s days of drift in the table and its section, nothing for the others', async () => {
    const html = await renderCheckReport(input({ windowDays: 30, features: [{ feature: 'income', days: 9 }, { feature: 'country', days: 1 }, { feature: 'age', days: 4 }] }));
    assert.match(html, /<th>Recurrence<\/th>/);
    assert.match(html, /<td>drifted on 9 of the last 30 days<\/td>/);
    assert.match(html, /Recurrence: drifted on 9 of the last 30 days \(<code>retrain violations churn --feature income<\/code>\)/);
    assert.match(html, /Recurrence: drifted on 1 of the last 30 days \(<code>retrain violations churn --feature country<\/code>\)/);
    // age did not drift in this check: its earlier violations are not this check's news.
    assert.doesNotMatch(html, /drifted on 4 of/);
  });

  it('a check without recurrence (a backtest, an older caller) keeps the table as it was', async () => {
    const html = await renderCheckReport(input());
    assert.doesNotMatch(html, /Recurrence/);
  });
});
