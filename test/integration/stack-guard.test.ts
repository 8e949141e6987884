// @server dev
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { msToTs } from '@temporalio/common/lib/time.js';
import { devDataDirOf, joinProblem, recordDevDataDir } from '../../src/cli/stack-guard.js';
import { startCli } from '../helpers/cli.js';
import { eventually, useDevServer } from '../helpers/temporal.js';

/**
 * A worker never joins another data directory's `npm run dev` stack (issue 16, item 1): dev records
 * its data directory on its server's namespace, and a worker connecting from elsewhere with another
 * data directory is refused, exit 2, before it polls anything. On a namespace of its own, so the
 * suite's shared server stays unmarked.
 */
describe('a worker with another data directory does not join a dev stack', () => {
  const env = useDevServer();
  const dir = mkdtempSync(path.join(tmpdir(), 'retrain-stack-guard-'));
  const stackDir = path.join(dir, 'stack');
  const otherDir = path.join(dir, 'other');

  it('unmarked namespaces let anyone join; a marked one only its own data directory; retrain worker says why and exits 2', async () => {
    const connection = env().client.connection;
    const namespace = `stack-guard-${process.pid}`;
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    await eventually(() => connection.workflowService.describeNamespace({ namespace }).then(() => true, () => undefined), 'the new namespace');
    const target = { address: env().address, namespace };

    assert.equal(await devDataDirOf(connection, namespace), undefined);
    assert.equal(await joinProblem(connection, target, otherDir), undefined, 'a cluster (no dev stack) never refuses');

    await recordDevDataDir(connection, namespace, stackDir);
    assert.equal(await devDataDirOf(connection, namespace), stackDir);
    assert.equal(await joinProblem(connection, target, stackDir), undefined);
    assert.equal(await joinProblem(connection, target, `${stackDir}/../stack`), undefined, 'the same directory, spelled otherwise');
    const problem = await joinProblem(connection, target, otherDir);
    assert.match(problem ?? '', new RegExp(`is the \`npm run dev\` stack of ${stackDir}, and this process's data directory is ${otherDir}: .*Set RETRAIN_DATA_DIR=${stackDir} to join`));

    // The CLI's worker is refused before it polls; killed after 60 s if it is not, so a failure cannot hang the suite.
    const worker = startCli(['worker'], { TEMPORAL_ADDRESS: env().address, TEMPORAL_NAMESPACE: namespace, RETRAIN_DATA_DIR: otherDir, RETRAIN_METRICS_PORT: '0', RETRAIN_CONFIG: path.resolve('retrain.yaml') });
    const timer = setTimeout(() => worker.child.kill('SIGKILL'), 60_000);
    const code = await worker.exited;
    clearTimeout(timer);
    assert.equal(code, 2, worker.output());
    assert.equal(worker.output(), `retrain: environment: ${problem}\n`);
  });
});
