import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/runtime/logger.js';
import { createGateway, type Gateway } from '../../src/serving/index.js';
import { runCli } from '../helpers/cli.js';

/**
 * `retrain models register`: a model trained outside retrain (a retrain-linear/v1 model.json) and
 * the CSV it was trained on become a registered version with its reference profile, importances and
 * validation metrics; --promote moves the champion (ledger) and deploys it to a reachable gateway.
 * Run as the real CLI in a child process, against a real gateway.
 */
const TOKEN = 'models-register-token';
const dir = mkdtempSync(path.join(tmpdir(), 'retrain-models-register-'));
const dataDir = path.join(dir, 'data');
const configFile = path.join(dir, 'retrain.yaml');
const env = { RETRAIN_DATA_DIR: dataDir, RETRAIN_ADMIN_TOKEN: TOKEN, RETRAIN_USER: 'ci-user' };

const model = (name: string, url: string) => `
  - name: ${name}
    task: binary_classification
    features:
      - { name: amount, type: numerical }
      - { name: noise, type: numerical }
      - { name: plan, type: categorical }
    label: { name: churned, delay: 1d }
    serving: { url: "${url}" }`;
const yaml = (url: string) => `models:${model('churn', url)}${model('churn-offline', 'http://127.0.0.1:1')}${model('churn-bad', 'http://127.0.0.1:1')}\n`;

/** The label depends on amount (strongly) and plan (a little), never on noise; the model knows it. */
const MODEL = {
  format: 'retrain-linear/v1',
  task: 'binary_classification',
  label: 'churned',
  features: [
    { name: 'amount', type: 'numerical', mean: 0, std: 1, impute: 0 },
    { name: 'noise', type: 'numerical', mean: 0, std: 1, impute: 0 },
    { name: 'plan', type: 'categorical', vocabulary: ['basic', 'pro'] },
  ],
  weights: [2, 0, 0.5, -0.5, 0],
  bias: 0,
  threshold: 0.5,
};

function trainingCsv(rows: number, seed: number): string {
  let s = seed;
  const random = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), (s + 0.5) / 4294967296);
  const gauss = () => Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
  const lines = ['ts,amount,noise,plan,churned'];
  for (let i = 0; i < rows; i++) {
    const amount = gauss();
    const plan = random() < 0.5 ? 'basic' : 'pro';
    const churned = random() < 1 / (1 + Math.exp(-(2 * amount + (plan === 'basic' ? 0.5 : -0.5)))) ? 1 : 0;
    lines.push(`${new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString()},${amount.toFixed(4)},${gauss().toFixed(4)},${plan},${churned}`);
  }
  return `${lines.join('\n')}\n`;
}

const file = (name: string, content: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};

interface ShownVersion {
  version: number;
  trainer: string;
  createdAt: string;
  aliases: string[];
  metrics: Record<string, number | null>;
  importance: { metric: string; repeats: number; rows: number; features: Record<string, { importance: number; share: number }> } | null;
}

describe('retrain models register', () => {
  let gateway: Gateway;
  let gatewayUrl: string;
  let artifact: string;
  let training: string;
  let validation: string;
  const cli = (...args: string[]) => runCli(['--config', configFile, ...args], env);
  const show = async (name: string) => {
    const r = await cli('--json', 'models', 'show', name);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { aliases: Record<string, number | null>; versions: ShownVersion[]; recentLedger: { action: string; actor: string; reason: string; toVersion: number }[] };
  };

  before(async () => {
    artifact = file('model.json', JSON.stringify(MODEL));
    training = file('train.csv', trainingCsv(3_000, 1));
    validation = file('validation.csv', trainingCsv(1_000, 2));
    const logger = createLogger({ level: 'warn', pretty: false, destination: process.stderr });
    gateway = await createGateway({ config: parseConfig(yaml('http://127.0.0.1:1')), dataDir, logger, adminToken: TOKEN });
    gatewayUrl = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
    writeFileSync(configFile, yaml(gatewayUrl));
  });

  after(async () => {
    await gateway?.close();
  });

  it('registers a model.json with the profile and importances of its training CSV; models show lists them', async () => {
    const r = await cli('models', 'register', 'churn', '--artifact', artifact, '--training-data', training, '--validation-data', validation, '--trained-at', '2024-06-01T12:00:00Z');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /churn: registered v1 \(external, retrain-linear\/v1, trained at 2024-06-01T12:00:00\.000Z\) from 3000 training rows/);
    assert.match(r.stdout, /metrics on 1000 validation rows: accuracy 0\.\d+/);
    assert.match(r.stdout, /importance \(neg_log_loss on 1000 validation rows, 3 repeats\): amount \d+%, plan \d+%, noise 0%/);

    const detail = await show('churn');
    assert.equal(detail.aliases.champion, null, 'registering alone promotes nothing');
    const [v] = detail.versions;
    assert.equal(v.version, 1);
    assert.equal(v.trainer, 'external');
    assert.equal(v.createdAt, '2024-06-01T12:00:00.000Z');
    assert.ok((v.metrics.roc_auc ?? 0) > 0.75, JSON.stringify(v.metrics));
    const imp = v.importance!;
    assert.equal(imp.metric, 'neg_log_loss');
    assert.equal(imp.repeats, 3);
    assert.equal(imp.rows, 1_000);
    assert.ok(imp.features.amount.importance > imp.features.plan.importance, JSON.stringify(imp));
    assert.ok(imp.features.plan.importance > imp.features.noise.importance, JSON.stringify(imp));
    assert.equal(imp.features.noise.share, 0);

    const text = await cli('models', 'show', 'churn');
    assert.match(text.stdout, /v1 2024-06-01T12:00:00\.000Z external retrain-linear\/v1/);
    assert.match(text.stdout, /importance \(neg_log_loss on 1000 validation rows, 3 repeats\): amount/);
    // The registry keeps its own copy of the artifact, under the data directory.
    assert.match(text.stdout, new RegExp(`file://${dataDir}/artifacts/churn/external-[0-9a-f]{16}/model\\.json`));
  });

  it('--promote makes it the champion with a ledger entry and deploys it to the gateway', async () => {
    const r = await cli('models', 'register', 'churn', '--artifact', artifact, '--training-data', training, '--promote', '--as', 'alice', '--reason', 'trained in the notebook');
    assert.equal(r.code, 0, r.stderr);
    // No validation file: measured on the training data's latest rows, and it says so.
    assert.match(r.stderr, /warning: no --validation-data: metrics and importances are measured on the latest 300 rows of .*train\.csv by ts/);
    assert.match(r.stdout, /metrics on the latest 300 training rows/);
    assert.match(r.stdout, /champion: v2 \(was none\); ledger entry \d+ by alice/);
    assert.match(r.stdout, /gateway: serving it now/);

    const detail = await show('churn');
    assert.equal(detail.aliases.champion, 2);
    assert.deepEqual(
      detail.recentLedger.map((e) => [e.action, e.toVersion, e.actor, e.reason]),
      [['promote', 2, 'alice', 'trained in the notebook']],
    );
    const deployment = await gateway.app.inject({ method: 'GET', url: '/v1/admin/models/churn/deployment', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(deployment.statusCode, 200, deployment.body);
    assert.equal(deployment.json().champion.version, '2');
    const predicted = await gateway.app.inject({ method: 'POST', url: '/v1/models/churn/predict', payload: { features: { amount: 2, noise: 0, plan: 'basic' } } });
    assert.equal(predicted.statusCode, 200, predicted.body);
    assert.equal(predicted.json().model_version, '2');
  });

  it('--promote with the gateway unreachable keeps the registry change, warns and exits 0', async () => {
    const r = await cli('models', 'register', 'churn-offline', '--artifact', artifact, '--training-data', training, '--validation-data', validation, '--promote');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: gateway http:\/\/127\.0\.0\.1:1 unreachable.*v1 is the champion in the registry, but the gateway was not updated/);
    assert.match(r.stdout, /champion: v1 \(was none\); ledger entry \d+ by ci-user/);
    assert.match(r.stdout, /gateway: not reachable, not updated/);
    const detail = await show('churn-offline');
    assert.equal(detail.aliases.champion, 1);
    assert.equal(detail.recentLedger[0].actor, 'ci-user');
    assert.match(detail.recentLedger[0].reason, /trained outside retrain \(model\.json on train\.csv\)/);
  });

  it('with no RETRAIN_ADMIN_TOKEN the CLI finds the token `npm run dev` keeps in the data directory: promote and rollback reach the gateway (issue 16)', async () => {
    writeFileSync(path.join(dataDir, 'admin-token'), `${TOKEN}\n`, { mode: 0o600 });
    const devEnv = { ...env, RETRAIN_ADMIN_TOKEN: '' };
    try {
      const promoted = await runCli(['--config', configFile, 'models', 'register', 'churn', '--artifact', artifact, '--training-data', training, '--validation-data', validation, '--promote'], devEnv);
      assert.equal(promoted.code, 0, promoted.stderr);
      assert.match(promoted.stdout, /champion: v3 \(was v2\)/);
      assert.match(promoted.stdout, /gateway: serving it now/);
      const back = await runCli(['--config', configFile, 'rollback', 'churn', '--as', 'oncall'], devEnv);
      assert.equal(back.code, 0, back.stderr);
      assert.match(back.stdout, /^churn: champion is v2 again \(was v3\)/);
      const deployment = await gateway.app.inject({ method: 'GET', url: '/v1/admin/models/churn/deployment', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(deployment.json().champion.version, '2');
    } finally {
      rmSync(path.join(dataDir, 'admin-token'), { force: true });
    }
    // Without it (and without the variable) the gateway refuses, and the CLI says so.
    const refused = await runCli(['--config', configFile, 'rollback', 'churn', '--as', 'oncall'], { ...env, RETRAIN_ADMIN_TOKEN: '' });
    assert.notEqual(refused.code, 0);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /^retrain: the gateway refused the rollback \(401 unauthorized: missing bearer token: .*\); the CLI found no RETRAIN_ADMIN_TOKEN and no .*admin-token: set RETRAIN_ADMIN_TOKEN, or run with the RETRAIN_DATA_DIR of the `npm run dev` stack/);
  });

  it('models list counts versions in words that agree: (1 version), (3 versions)', async () => {
    const r = await cli('models', 'list');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^churn +champion 2 .*\(3 versions\)$/m);
    assert.match(r.stdout, /^churn-offline +champion 1 .*\(1 version\)$/m);
  });

  it('bad input: one clear line naming what is wrong and where, exit 2, nothing registered', async () => {
    const csv = readFileSync(training, 'utf8').split('\n');
    const dropColumn = (k: number) => csv.map((line) => line.split(',').filter((_, i) => i !== k).join(',')).join('\n');
    const withRow = (row: number, column: number, value: string) =>
      csv.map((line, i) => (i === row ? line.split(',').map((v, j) => (j === column ? value : v)).join(',') : line)).join('\n');
    const wrongModel = file('wrong.json', JSON.stringify({ ...MODEL, features: [MODEL.features[0], { ...MODEL.features[1], name: 'tenure' }, MODEL.features[2]] }));
    const cases: [string[], RegExp][] = [
      [['--artifact', path.join(dir, 'absent.json'), '--training-data', training], /--artifact: .*absent\.json: file not found/],
      [['--artifact', artifact, '--training-data', path.join(dir, 'absent.csv')], /--training-data .*absent\.csv: file not found/],
      [['--artifact', artifact, '--training-data', file('no-label.csv', dropColumn(4))], /--training-data .*no-label\.csv: the label column "churned" is not in the file \(the file has ts, amount, noise, plan\)/],
      [['--artifact', artifact, '--training-data', file('no-amount.csv', dropColumn(1))], /--training-data .*no-amount\.csv: missing feature column\(s\) amount \(the file has ts, noise, plan, churned\)/],
      // Every problem of the file at once, each with its first row (counted from 1 after the header).
      [
        ['--artifact', artifact, '--training-data', file('bad-values.csv', withRow(7, 1, 'lots').split('\n').map((l, i) => (i === 3 ? l.replace(/,[01]$/, ',2') : l)).join('\n'))],
        /--training-data .*bad-values\.csv: column amount has 1 value\(s\) that are not numbers \(e\.g\. "lots"\), first at row 7; column churned has 1 label\(s\) that are not 0, 1, true or false \(e\.g\. "2"\), first at row 3/,
      ],
      [['--artifact', artifact, '--training-data', training, '--validation-data', file('v-no-label.csv', dropColumn(4))], /--validation-data .*v-no-label\.csv: the label column "churned" is not in the file/],
      [['--artifact', wrongModel, '--training-data', training], /--artifact: .*wrong\.json: model reads feature "tenure", which the spec does not declare \(model churn-bad declares amount numerical, noise numerical, plan categorical/],
      [['--artifact', artifact, '--training-data', training, '--trained-at', '2999-01-01T00:00:00Z'], /--trained-at: 2999-01-01T00:00:00\.000Z is in the future/],
      [['--artifact', artifact, '--training-data', training, '--trained-at', '2024-01-02T00:00:00Z'], /--trained-at: 2024-01-02T00:00:00\.000Z is before the latest row of .*train\.csv \(ts 2024-05-04T23:00:00\.000Z\)/],
    ];
    for (const [args, message] of cases) {
      const r = await cli('models', 'register', 'churn-bad', ...args, '--promote');
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^retrain: ${message.source}`), `${args.join(' ')}`);
    }
    const unknown = await cli('models', 'register', 'nope', '--artifact', artifact, '--training-data', training);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown model "nope" \(known: churn, churn-offline, churn-bad\)/);

    // Nothing registered, nothing copied, nothing in the ledger.
    const none = await cli('models', 'show', 'churn-bad');
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /unknown model "churn-bad" \(no registered versions\)/);
    assert.equal(existsSync(path.join(dataDir, 'artifacts', 'churn-bad')), false);
    const ledger = await cli('--json', 'ledger', 'churn-bad');
    assert.deepEqual(JSON.parse(ledger.stdout), []);
  });
});
