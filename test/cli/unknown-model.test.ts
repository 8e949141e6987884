// @server dev concurrent
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { RetrainStage } from '../../src/domain/search-attributes.js';
import { closestName } from '../../src/cli/models.js';
import { runCli } from '../helpers/cli.js';
import { useDevServer } from '../helpers/temporal.js';

/**
 * One answer per mistake, from the real CLI: a model the config does not declare is refused the
 * same way by every command that takes one (exit 2, no server touched); a model with no run at all
 * (exit 3) is told apart from one whose latest run has ended (exit 4); doctor fails on any ✘.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'retrain-unknown-model-'));
const suffix = `${process.pid}-${Date.now().toString(36)}`;
const lonely = `lonely-${suffix}`; // declared, never run
const ended = `ended-${suffix}`; // declared, its one run terminated
const configFile = path.join(dir, 'retrain.yaml');
const model = (name: string) => `  - name: ${name}
    task: binary_classification
    features: [{ name: amount, type: numerical }]
    label: { name: is_fraud, delay: 1h }
`;
writeFileSync(configFile, `models:\n${['churn', 'fraud-detector', lonely, ended].map(model).join('')}`);
const known = `churn, fraud-detector, ${lonely}, ${ended}`;
// Nothing listens on port 1: a command that tried the server would exit 5, not 2.
const noServer = { RETRAIN_DATA_DIR: path.join(dir, 'data'), TEMPORAL_ADDRESS: '127.0.0.1:1' };

describe('an unknown model: one message and exit code 2 from every command that takes a model', () => {
  const commands: string[][] = [
    ['trigger', '%'],
    ['approve', '%', '--as', 'alice'],
    ['reject', '%', '--as', 'alice'],
    ['pause', '%'],
    ['resume', '%'],
    ['abort', '%'],
    ['promote', '%'],
    ['status', '%'],
    ['check', '%'],
    ['rollback', '%'],
    ['runs', 'list', '--model', '%'],
    ['models', 'show', '%'],
    ['models', 'register', '%', '--artifact', 'model.json', '--training-data', 'train.csv'],
    ['ledger', '%'],
    ['report', '%'],
    ['backtest', '%', '--from', '2026-03-01', '--to', '2026-03-02'],
    ['data', 'import', '%', 'rows.csv', '--kind', 'training'],
    ['simulate', '%', '--history', '1'],
  ];

  it('names the known models and suggests the closest, without a server, for each command', async () => {
    // Two at a time: the machine has two cores.
    const queue = [...commands];
    const failures: string[] = [];
    const worker = async () => {
      for (let args = queue.shift(); args; args = queue.shift()) {
        const line = args.map((a) => (a === '%' ? 'fraud-detecter' : a));
        const { code, stdout, stderr } = await runCli(['--config', configFile, ...line], noServer);
        const expected = `retrain: config: unknown model "fraud-detecter" (known: ${known}); did you mean "fraud-detector"?\n`;
        if (code !== 2 || stdout !== '' || stderr !== expected) failures.push(`${line.join(' ')}: exit ${code}, stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)}`);
      }
    };
    await Promise.all([worker(), worker()]);
    assert.deepEqual(failures, []);
  });

  it('violations gives the same message and code, suggestion included', async () => {
    const { code, stderr } = await runCli(['--config', configFile, 'violations', 'fraud-detecter'], noServer);
    assert.equal(code, 2);
    assert.equal(stderr, `retrain: config: unknown model "fraud-detecter" (known: ${known}); did you mean "fraud-detector"?\n`);
  });

  it('a name close to none gets no suggestion', async () => {
    const { code, stderr } = await runCli(['--config', configFile, 'status', 'nope'], noServer);
    assert.equal(code, 2);
    assert.equal(stderr, `retrain: config: unknown model "nope" (known: ${known})\n`);
  });

  it('suggests by edit distance: typos, swapped letters and case, never a stranger', () => {
    const names = ['churn', 'fraud-detector', 'fraud-detector-eu'];
    assert.equal(closestName('fraud-detecter', names), 'fraud-detector');
    assert.equal(closestName('chrun', names), 'churn');
    assert.equal(closestName('Fraud-Detector', names), 'fraud-detector');
    assert.equal(closestName('fraud-detector-us', names), 'fraud-detector-eu');
    assert.equal(closestName('nope', names), undefined);
    assert.equal(closestName('ab', ['xy']), undefined);
  });
});

describe('no run at all (exit 3) versus a latest run that has ended (exit 4)', () => {
  const env = useDevServer();
  const cli = (...args: string[]) => runCli(['--config', configFile, ...args], { RETRAIN_DATA_DIR: path.join(dir, 'data'), TEMPORAL_ADDRESS: env().address });

  it('a declared model that never ran: every run command says so, with how to start one', async () => {
    for (const args of [['status', lonely], ['approve', lonely, '--as', 'alice'], ['pause', lonely]]) {
      const { code, stdout, stderr } = await cli(...args);
      assert.equal(code, 3, `${args.join(' ')}: ${stderr}`);
      assert.equal(stdout, '');
      assert.equal(stderr, `retrain: ${lonely} has no pipeline run at all; start one with \`retrain trigger ${lonely}\`\n`, args.join(' '));
    }
  });

  it('after the latest run ended: its outcome and time, and that nothing is waiting', async () => {
    // A run stopped from outside in its canary (no worker polls its queue, so it never moved).
    const handle = await env().client.workflow.start('retrainPipeline', {
      taskQueue: `nobody-polls-${suffix}`,
      workflowId: `retrain-${ended}`,
      args: [{ model: ended }],
      typedSearchAttributes: [{ key: RetrainStage, value: 'canary' }],
    });
    await handle.terminate('test: the run ends');
    const closedAt = (await handle.describe()).closeTime!.toISOString();
    const ran = `retrain: the latest run of ${ended} has ended (outcome terminated in stage canary, at ${closedAt})`;

    for (const kind of ['approve', 'reject']) {
      const { code, stdout, stderr } = await cli(kind, ended, '--as', 'alice');
      assert.equal(code, 4, `${kind}: ${stderr}`);
      assert.equal(stdout, '');
      assert.equal(stderr, `${ran}: nothing is waiting for approval\n`, kind);
    }
    const pause = await cli('pause', ended);
    assert.equal(pause.code, 4, pause.stderr);
    assert.equal(pause.stderr, `${ran}: nothing to pause\n`);
    // It closed before any worker saw it, so even a query cannot read it: said as such.
    const status = await cli('status', ended);
    assert.equal(status.code, 4, status.stderr);
    assert.ok(status.stderr.startsWith(`${ran}: its status could not be read (`), status.stderr);
  });

  it('doctor exits 5 when a check fails (✘) and 0 with warnings (!) only', async () => {
    const down = await runCli(['doctor', '--no-install'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(down.code, 5, down.stderr);
    assert.match(down.stdout, /^✘ Temporal server 127\.0\.0\.1:1 /m);

    // No binaries anywhere (only the SDK's download, a warning) but the server answers.
    const warned = await runCli(['doctor', '--no-install'], {
      TEMPORAL_ADDRESS: env().address,
      PATH: path.dirname(process.execPath),
      RETRAIN_TOOLS_DIR: path.join(dir, 'no-tools'),
      TEMPORAL_CLI_PATH: '',
      TEMPORAL_TEST_SERVER_PATH: '',
    });
    assert.equal(warned.code, 0, warned.stdout + warned.stderr);
    assert.match(warned.stdout, /^! Temporal CLI \(dev server\): the Temporal SDK's cached download/m);
    assert.match(warned.stdout, /^✔ Temporal server /m);
    assert.doesNotMatch(warned.stdout, /✘/);
  });
});
