import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { narration, type NarratedStatus, type SeenRun } from '../../src/demo/narrator.js';

/** What the tour's narrator says as it watches a model's latest pipeline run (issue 16). */
const spec = loadConfig('retrain.yaml').models[0];
const m = spec.name;
const run = (runId: string, stage: string, closed = false): SeenRun => ({ runId, stage, closed });
const status = (s: Partial<NarratedStatus> = {}) => async (): Promise<NarratedStatus> => ({ triggers: ['drift'], approvalReasons: ['policy requires approval for every run'], ...s });

describe('the narrator', () => {
  it('announces every new run, whatever stage it is first seen at (a short budget check can pass between two looks)', async () => {
    assert.deepEqual(await narration(spec, undefined, run('r1', 'budget_check'), status()), [`${m}: a retrain was triggered (drift); checking the budget`]);
    assert.deepEqual(await narration(spec, run('r1', 'promoted', true), run('r2', 'training'), status({ triggers: ['performance', 'drift'] })), [
      `${m}: a retrain was triggered (performance, drift)`,
      `${m}: training a challenger`,
    ]);
    // The second run of the session, first seen already waiting for approval.
    const lines = await narration(spec, run('r2', 'rejected', true), run('r3', 'awaiting_approval'), status());
    assert.equal(lines[0], `${m}: a retrain was triggered (drift)`);
    assert.match(lines[1], new RegExp(`^${m}: waiting for approval \\(policy requires approval for every run\\)\\n.*npx retrain status ${m}.*\\n    approve with: npx retrain approve ${m} --as `));
  });

  it('says a stage once, and nothing about a run that had ended before it started watching but its outcome', async () => {
    assert.deepEqual(await narration(spec, run('r1', 'training'), run('r1', 'training'), status()), []);
    assert.deepEqual(await narration(spec, run('r1', 'training'), run('r1', 'evaluating'), status()), [`${m}: scoring champion and challenger on the same holdout`]);
    assert.deepEqual(await narration(spec, undefined, run('r0', 'promoted', true), status()), [`${m}: challenger promoted to champion (\`npx retrain ledger ${m}\`)`]);
  });

  it('a rollback after a manual abort is said to be on request, not automatic', async () => {
    const aborted = status({ outcome: { result: 'rolled_back', reason: 'aborted by alice: wrong segment' }, decisions: [{ kind: 'abort', by: 'alice', accepted: true, detail: 'wrong segment' }] });
    const [line] = await narration(spec, run('r1', 'canary'), run('r1', 'rolled_back', true), aborted);
    assert.equal(line, `${m}: rolled back on request (aborted by alice: wrong segment); the champion keeps all traffic (\`npx retrain status ${m}\`)`);
    assert.doesNotMatch(line, /automatically/);
    const judged = status({ outcome: { result: 'rolled_back', reason: 'step 1 (5%) failed twice: error_rate 4.1% > 2%' }, decisions: [] });
    assert.equal(
      (await narration(spec, run('r1', 'canary'), run('r1', 'rolled_back', true), judged))[0],
      `${m}: rolled back automatically (step 1 (5%) failed twice: error_rate 4.1% > 2%); the champion keeps all traffic (\`npx retrain status ${m}\`)`,
    );
  });

  it('links the model\'s pipelines in the web UI (no monitor checks) when a run starts', async () => {
    const [line] = await narration(spec, undefined, run('r1', 'budget_check'), status(), { pipelines: (model) => `http://ui/${model}` });
    assert.equal(line, `${m}: a retrain was triggered (drift); checking the budget\n    this model's pipelines in the web UI: http://ui/${m}`);
  });
});
