import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canarySteps, escapeHtml, renderPipelineReport, type PipelineReportInput } from '../../src/reports/index.js';
import { EVIL, EVIL_CATEGORY, pipelineInput } from './helpers.js';

/** The part of the page from an <h2> heading to the next one. */
function part(html: string, heading: string): string {
  const start = html.indexOf(`<h2>${heading}</h2>`);
  assert.ok(start >= 0, `no section ${heading}`);
  const next = html.indexOf('<h2>', start + 4);
  return html.slice(start, next < 0 ? undefined : next);
}

/** The cells of the body rows of the tables in a piece of HTML, tags stripped. */
function rows(html: string): string[][] {
  return [...html.matchAll(/<tr[^>]*>(.*?)<\/tr>/gs)]
    .map((r) => [...r[1].matchAll(/<td[^>]*>(.*?)<\/td>/gs)].map((c) => c[1].replace(/<[^>]+>/g, '').trim()))
    .filter((r) => r.length > 0);
}

describe('renderPipelineReport', () => {
  it('shows champion and challenger holdout metrics as a table and a chart', async () => {
    const html = await renderPipelineReport(pipelineInput());
    assert.match(html, /^<!DOCTYPE html>/);
    const holdout = part(html, 'Holdout evaluation');
    const table = rows(holdout);
    assert.deepEqual(table[0].slice(0, 3), ['roc_auc (gates)', '0.8123', '0.8456']);
    assert.match(table[0][3], /^\+0\.0333 better$/);
    const logLoss = table.find((r) => r[0].startsWith('log_loss'))!;
    assert.deepEqual(logLoss.slice(1, 3), ['0.3141', '0.2718']);
    assert.match(logLoss[3], /^-0\.0423 better$/, 'lower log loss is an improvement');
    assert.ok(table.some((r) => r[0] === 'latency per prediction (ms)' && r[2] === '0.42'));
    assert.ok(holdout.includes('Champion v6') && holdout.includes('Challenger v7'));
    assert.match(holdout, /<svg[\s>]/);
  });

  it('shows both variants per canary step, as a table and a chart', async () => {
    const html = await renderPipelineReport(pipelineInput());
    const canary = part(html, 'Canary');
    const body = rows(canary.slice(0, canary.indexOf('<h3>')));
    // Step, weight, variant, requests, errors, error rate, p50, p99, labelled, accuracy, verdict.
    assert.deepEqual(body[0].slice(0, 10), ['1', '5%', 'champion', '1,812', '3', '0.17%', '27.2', '81.5', '906', '91.20%']);
    assert.deepEqual(body[1].slice(0, 10), ['', '', 'challenger', '137', '1', '0.73%', '31.1', '93.3', '68', '92.10%']);
    assert.deepEqual(body[2].slice(0, 10), ['2', '25%', 'champion', '4,321', '5', '0.12%', '27.6', '82.8', '2,160', '91.05%']);
    assert.deepEqual(body[3].slice(0, 10), ['', '', 'challenger', '1,444', '2', '0.14%', '31.8', '95.5', '722', '93.33%']);
    assert.match(body[0][10], /pass\s+2 analyses/);
    assert.match(canary, /<svg[\s>]/);
    for (const label of ['step 1 · 5%', 'step 2 · 25%', 'requests', 'error rate', 'p99 latency (ms)', 'champion', 'challenger']) {
      assert.ok(canary.includes(`>${label}</text>`), `chart lacks ${label}`);
    }
    // The analyses log lists all three analyses.
    assert.equal(rows(canary.slice(canary.indexOf('<h3>'))).filter((r) => r.length === 5).length, 3);
  });

  it('shows gates, slices, the approval and the outcome, escaped', async () => {
    const html = await renderPipelineReport(pipelineInput());
    assert.ok(html.includes('<div class="callout good"><strong>Promoted</strong><div>all canary steps passed</div></div>'));
    const gates = rows(part(html, 'Gates'));
    assert.deepEqual(gates.map((g) => g.slice(0, 2)), [['floor', 'passed'], ['improvement', 'passed'], ['leakage', 'flagged']]);
    const approval = part(html, 'Approval and decisions');
    assert.ok(approval.includes('policy requires approval for every run'));
    assert.ok(approval.includes(`by <strong>alice</strong> at 2024-05-01 09:45:00 UTC: “looks good ${escapeHtml(EVIL)}”`));
    assert.deepEqual(rows(approval).map((r) => [r[2], r[3]]), [['mallory', 'refused'], ['alice', 'accepted']]);
    const slices = rows(part(html, 'Slices'));
    assert.equal(slices[0][1], escapeHtml(EVIL_CATEGORY), 'the regressed slice comes first');
    assert.match(slices[0][5], /worse$/);
    assert.ok(!html.includes(EVIL) && !html.includes(EVIL_CATEGORY));
    assert.doesNotMatch(html, /<script|<img|<link/i);
  });

  it('renders a run in progress and a first model without canary', async () => {
    const base = pipelineInput();
    const waiting: PipelineReportInput = { ...base, outcome: undefined, endedAt: undefined, stage: 'awaiting_approval', analyses: [], decisions: [] };
    const html = await renderPipelineReport(waiting);
    assert.ok(html.includes('The run is at stage awaiting_approval'));
    assert.ok(html.includes('<strong>Awaiting approval</strong>'));
    const first = await renderPipelineReport({
      ...base, analyses: undefined, gates: [], approvalReasons: [], decisions: [],
      evaluation: { challenger: { version: 1, metrics: { roc_auc: 0.8 } }, slices: [] },
    });
    assert.ok(first.includes('First model: promoted without a canary'));
    assert.ok(first.includes('There is no champion yet'));
    assert.ok(!first.includes('<h2>Approval and decisions</h2>'));
  });

  it('groups analyses by step, keeping the last live numbers of each step', () => {
    const steps = canarySteps(pipelineInput().analyses!);
    assert.deepEqual(steps.map((s) => [s.step, s.weight, s.analyses, s.verdict, s.live?.challenger.requests]), [[1, 5, 2, 'pass', 137], [2, 25, 1, 'pass', 1444]]);
    assert.deepEqual(steps[0].verdicts, { pass: 1, fail: 0, inconclusive: 1 });
  });

  it('uses the step records of the workflow (canary-durable-evidence on) and says what each verdict rests on, from the lake evidence', async () => {
    const evidence = (requests: number, labelled: number) => ({
      stage: 'canary' as const,
      from: '2026-11-01T10:00:00.000Z',
      asOf: '2026-11-04T11:00:00.000Z',
      champion: { version: '6', requests: requests * 19, errors: 0, p50LatencyMs: 1.2, p99LatencyMs: 4.5, labelled: labelled * 19, accuracy: 0.9 },
      challenger: { version: '7', requests, errors: 1, p50LatencyMs: 1.3, p99LatencyMs: 4.9, labelled, accuracy: 0.92 },
      scoreDistance: 0.12,
    });
    const input: PipelineReportInput = {
      ...pipelineInput(),
      analyses: [
        { at: '2026-11-02T10:00:00.000Z', step: 1, weight: 5, stage: 'canary', verdict: 'inconclusive', detail: 'accuracy not judged yet', evidence: evidence(4_000, 0) },
        { at: '2026-11-04T11:00:00.000Z', step: 1, weight: 5, stage: 'canary', verdict: 'pass', detail: 'accuracy 92.00% vs champion 90.00%', evidence: evidence(12_000, 300) },
      ],
      steps: [{ step: 1, stage: 'canary', weight: 5, startedAt: '2026-11-01T10:00:00.000Z', endedAt: '2026-11-04T11:00:00.000Z', bake: '24h', analyses: 2, verdict: 'pass', reason: 'accuracy 92.00% vs champion 90.00%', evidence: ['traffic', 'labels'] }],
    };
    const steps = canarySteps(input.analyses!, input.steps);
    assert.deepEqual(steps.map((s) => [s.verdict, s.evidence, s.live?.challenger.labelled]), [['pass', ['traffic', 'labels'], 300]]);
    const canary = part(await renderPipelineReport(input), 'Canary');
    const body = rows(canary.slice(0, canary.indexOf('<h3>')));
    assert.deepEqual(body[0].slice(0, 3), ['1', '5%', 'champion']);
    assert.equal(body[0].at(-1), 'on traffic + labels');
    assert.equal(body[1].at(-1), 'accuracy 92.00% vs champion 90.00%');
    assert.ok(body[1].includes('300') && body[1].includes('92.00%'), JSON.stringify(body[1]));
  });
});
