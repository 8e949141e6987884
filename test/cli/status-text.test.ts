import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { describeStatus, reportFileOf } from '../../src/cli/commands/runs.js';
import type { PipelineStatus } from '../../src/domain/status.js';

/** `retrain status` of a run waiting for approval names its interim report, by URL and on disk (issue 16, item 2). */
const dataDir = mkdtempSync(path.join(tmpdir(), 'retrain-status-text-'));
const settings = { reportsUrl: 'http://localhost:8092/reports', dataDir };

const waiting: PipelineStatus = {
  model: 'fraud-detector',
  stage: 'awaiting_approval',
  triggers: ['drift'],
  requestedBy: 'monitor',
  candidateVersion: 2,
  gates: [{ name: 'improvement', passed: true, severity: 'reject', detail: 'roc_auc 0.69 vs champion 0.59' }],
  approvalReasons: ['policy requires approval for every run'],
  traffic: { challengerWeight: 0, shadow: false, paused: false },
  analyses: [],
  decisions: [],
  reportUrl: 'http://localhost:8092/reports/fraud-detector/runs/retrain-fraud-detector.run%201.html',
};

describe('retrain status', () => {
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('while a run awaits approval: the interim report\'s URL and its file', () => {
    const file = path.join(dataDir, 'reports', 'fraud-detector', 'runs', 'retrain-fraud-detector.run 1.html');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, '<html></html>');
    assert.equal(reportFileOf(waiting.reportUrl!, settings), file);
    const text = describeStatus(waiting, reportFileOf(waiting.reportUrl!, settings));
    assert.match(text, /^fraud-detector: awaiting_approval\n/);
    assert.ok(text.includes(`\n  approval: policy requires approval for every run\n`), text);
    assert.ok(text.endsWith(`\n  report: ${waiting.reportUrl} (interim, while the run goes on)\n          ${file}`), text);
  });

  it('a run stopped by its pre-traffic checks says so, with the numbers', () => {
    const preTraffic = {
      at: '2026-11-30T10:00:00Z', version: 2, profile: 'challenger' as const, budgetMs: 250,
      requests: { typical: 10, edge: 22, missing: 15, unseen: 9 }, leftOut: 0, scored: 54, refusedAsExpected: 2,
      latencyMs: { p50: 1.2, p99: 3.4, max: 3.9 }, failures: [], failureCount: 1, passed: false, reason: 'edge row 7: score NaN',
    };
    const text = describeStatus({ ...waiting, stage: 'rolled_back', preTraffic } as PipelineStatus);
    assert.ok(text.includes('\n  pre-traffic checks ✘ v2: 54 synthetic requests, p99 3.4 ms (budget 250 ms) — edge row 7: score NaN\n'), text);
  });

  it('no file for another data directory\'s URL, a path that would leave the reports folder, or a file not there', () => {
    assert.equal(reportFileOf('http://elsewhere:8092/reports/fraud-detector/runs/x.html', settings), undefined);
    assert.equal(reportFileOf('http://localhost:8092/reports/..%2F..%2Fregistry.db', settings), undefined);
    assert.equal(reportFileOf('http://localhost:8092/reports/fraud-detector/../../registry.db', settings), undefined);
    assert.equal(reportFileOf('http://localhost:8092/reports/fraud-detector/runs/gone.html', settings), undefined);
    const ended = describeStatus({ ...waiting, stage: 'promoted', outcome: { result: 'promoted', reason: 'all steps passed' } });
    assert.match(ended, /\n {2}report: http:\S+\.html$/);
  });
});
