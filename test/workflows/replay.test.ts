// @server time-skipping
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../helpers/temporal.js';

/**
 * Histories recorded by this suite (see rollout.test.ts; RETRAIN_RECORD_HISTORIES=1 re-records)
 * must replay on the current workflow code: a change that is not replay-safe fails here, so it
 * needs `patched()` before it can ship.
 */
const DIR = path.resolve('test/fixtures/histories');

describe('replay of recorded pipeline histories', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

  it('has recorded histories to replay', () => {
    assert.ok(files.length >= 2, `expected recorded histories in ${DIR}`);
  });

  for (const file of files) {
    it(`replays ${file} without nondeterminism`, async () => {
      const history = historyFromJSON(JSON.parse(readFileSync(path.join(DIR, file), 'utf8')));
      assert.ok((history.events?.length ?? 0) > 10);
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, `replay-${file}`);
    });
  }
});
