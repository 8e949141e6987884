import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderPipelineReport } from '../../src/reports/index.js';
import { passingPreTraffic } from '../helpers/scripted-activities.js';
import { pipelineInput } from './helpers.js';

function part(html: string, heading: string): string {
  const start = html.indexOf(`<h2>${heading}</h2>`);
  assert.ok(start >= 0, `no section ${heading}`);
  const next = html.indexOf('<h2>', start + 4);
  return html.slice(start, next < 0 ? undefined : next);
}

describe('run report: pre-traffic checks', () => {
  it('a failed check: the verdict, requests per category, each failure with its row and reason, latency against the budget', async () => {
    const preTraffic = passingPreTraffic(7, {
      passed: false,
      failureCount: 1,
      failures: [{ category: 'edge', label: 'every numerical feature at its reference max', row: { amount: 5000, country: '<b>US</b>' }, reason: 'output out of range: non-finite score NaN' }],
      reason: 'pre-traffic checks failed on 1 of 26 synthetic requests: edge row (every numerical feature at its reference max): output out of range: non-finite score NaN',
    });
    const html = await renderPipelineReport({ ...pipelineInput(), preTraffic });
    const section = part(html, 'Pre-traffic checks');
    assert.match(section, /Failed: the challenger got no traffic/);
    assert.match(section, /every numerical feature at its reference max/);
    assert.match(section, /non-finite score NaN/);
    assert.match(section, /&lt;b&gt;US&lt;\/b&gt;/, 'the row is escaped');
    assert.match(section, /p99 1\.2 ms \(budget 250 ms\)/);
    assert.ok(html.indexOf('<h2>Pre-traffic checks</h2>') < html.indexOf('<h2>Canary</h2>'));
  });

  it('a passed check says so; a run without one shows no section', async () => {
    const passed = await renderPipelineReport({ ...pipelineInput(), preTraffic: passingPreTraffic(7) });
    assert.match(part(passed, 'Pre-traffic checks'), /Passed/);
    assert.ok(!(await renderPipelineReport(pipelineInput())).includes('Pre-traffic checks'));
  });
});
