import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { renderPipelineReport, ReportStore } from '../../src/reports/index.js';
import { buildReportServer } from '../../src/reports/server.js';
import { pipelineInput } from './helpers.js';

/** The reports index lists each run with its outcome, and a run still going on with its stage (issue 16). */
const dataDir = mkdtempSync(path.join(tmpdir(), 'retrain-reports-index-'));

describe('reports index', () => {
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('each run with its outcome, a waiting run with its stage; the top page with the latest run\'s', async () => {
    const store = new ReportStore(dataDir);
    const base = pipelineInput();
    await store.writePipeline('churn', 'retrain-churn', await renderPipelineReport({ ...base, outcome: { result: 'rolled_back', reason: 'aborted by alice: wrong' } }), 'run-a');
    await new Promise((r) => setTimeout(r, 20)); // distinct modification times, newest last
    await store.writePipeline('churn', 'retrain-churn', await renderPipelineReport({ ...base, outcome: { result: 'promoted', reason: 'all canary steps passed' } }), 'run-b');
    await new Promise((r) => setTimeout(r, 20));
    await store.writePipeline('churn', 'retrain-churn', await renderPipelineReport({ ...base, outcome: undefined, endedAt: undefined, stage: 'awaiting_approval' }), 'run-c');

    const app = await buildReportServer({ dataDir });
    try {
      const listing = (await app.inject({ url: '/reports/churn/index' })).body;
      const items = [...listing.matchAll(/<li><a href="[^"]*runs\/([^"]+)">[^<]*<\/a> <span class="badge [a-z]+">([^<]+)<\/span>/g)].map((x) => [x[1], x[2]]);
      assert.deepEqual(items, [
        ['retrain-churn.run-c.html', 'awaiting approval'],
        ['retrain-churn.run-b.html', 'promoted'],
        ['retrain-churn.run-a.html', 'rolled back'],
      ]);
      const top = (await app.inject({ url: '/reports' })).body;
      assert.match(top, /latest run<\/a> <span class="badge [a-z]+">awaiting approval<\/span>/);
    } finally {
      await app.close();
    }
  });
});
