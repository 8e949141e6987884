import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'retrain-cli-'));

describe('retrain CLI: help, validation and clear failures', () => {
  it('prints help with the commands that exist', async () => {
    const { code, stdout } = await runCli(['--help']);
    assert.equal(code, 0);
    for (const command of ['dev', 'worker', 'validate', 'doctor', 'trigger', 'approve', 'reject', 'status', 'runs']) {
      assert.match(stdout, new RegExp(`\\n  ${command}\\b`), command);
    }
  });

  it('validates the shipped config, as text and as JSON', async () => {
    const text = await runCli(['validate']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /retrain\.yaml: valid \(2 models/);
    const json = await runCli(['validate', '--json']);
    assert.equal(JSON.parse(json.stdout).models[0].name, 'fraud-detector');
  });

  it('a bad config is one clear line on stderr and exit code 2, never a stack trace', async () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'models:\n  - name: churn\n    task: binary_classification\n    features: [{ name: tenure, type: numerical }]\n    label: { name: churned }\n    rollout: { steps: [{ weight: 5, duration: 1h }, { weight: 250 }] }\n');
    const { code, stderr, stdout } = await runCli(['--config', bad, 'validate']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /^retrain: .*bad\.yaml:6: models\[0\]\.rollout\.steps\[1\]\.weight: expected a number from 1 to 100\n$/);
  });

  it('RETRAIN_CONFIG points at another file; a missing one says so', async () => {
    const { code, stderr } = await runCli(['validate'], { RETRAIN_CONFIG: path.join(dir, 'nope.yaml') });
    assert.equal(code, 2);
    assert.match(stderr, /nope\.yaml: file not found \(set --config or RETRAIN_CONFIG\)/);
  });

  it('a bad environment setting is named', async () => {
    const { code, stderr } = await runCli(['worker'], { RETRAIN_METRICS_PORT: 'ninety' });
    assert.equal(code, 2);
    assert.match(stderr, /environment: RETRAIN_METRICS_PORT: .*\(got "ninety"\)/);
  });

  it('with no Temporal binary anywhere and no internet, `dev` lists the four ways and exits 5', async () => {
    const { code, stderr } = await runCli(['dev'], {
      PATH: path.dirname(process.execPath),
      RETRAIN_TOOLS_DIR: path.join(dir, 'no-tools'),
      RETRAIN_PYTHON: path.join(dir, 'no-python'),
      RETRAIN_DATA_DIR: path.join(dir, 'data'),
      RETRAIN_METRICS_PORT: '0',
      TEMPORAL_ADDRESS: '',
      TEMPORAL_CLI_PATH: '',
      // Where a machine does have internet, the SDK would download the CLI: block it for this test.
      HTTPS_PROXY: 'http://127.0.0.1:9',
      https_proxy: 'http://127.0.0.1:9',
    });
    assert.equal(code, 5, stderr);
    assert.match(stderr, /No Temporal CLI \(dev server\) could be found or started/);
    assert.match(stderr, /1\. set TEMPORAL_CLI_PATH/);
    assert.match(stderr, /4\. give this machine internet access/);
  });

  it('commands that need a server say so when none answers', async () => {
    const { code, stderr } = await runCli(['status', 'fraud-detector'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(code, 5, stderr);
    assert.match(stderr, /cannot reach the Temporal server/);
  });
});
