// @server dev concurrent
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { pipelineStatus } from '../../src/client.js';
import type { ModelSpec } from '../../src/config/schema.js';
import { DATASET_FILES } from '../../src/backends/data/types.js';
import { trainingBackendFor } from '../../src/backends/training/index.js';
import { seedChampion } from '../../src/demo/seed.js';
import type { PipelineResult } from '../../src/workflows/pipeline.js';
import { serveUntilDone } from '../helpers/canary-traffic.js';
import { runCli } from '../helpers/cli.js';
import { fraudModelYaml } from '../helpers/fraud-model.js';
import { useStack } from '../helpers/stack.js';
import { eventually } from '../helpers/temporal.js';

/**
 * `retrain deploy`: a version a data scientist trained by hand and registered with `retrain models
 * register` goes through what a retrained challenger does: the gates against the champion on the
 * latest holdout, a person's approval, pre-traffic checks, a canary on live traffic over HTTP, and
 * promotion. The real CLI, dev server, worker, lake, registry and gateway; every effect fails once
 * after it happened (a lost completion), so each must be idempotent.
 */
const TOKEN = 'deploy-version-token';
const modelYaml = (name: string, url: string, policy = 'approval: { when: always, approvers: [bob] }') =>
  fraudModelYaml(
    name,
    url,
    `
    trainer: { backend: builtin, params: { epochs: 4, seed: 3 } }
    ${policy}
    gates: { metric: log_loss, floor: 1, minImprovement: 0.01 }
    rollout: { steps: [{ weight: 50, duration: 3s }, { weight: 100 }], analysisInterval: 1s, minSamples: 20, failureLimit: 2 }`,
    { labelDelay: '1d' },
  );

const weakened = (spec: ModelSpec) => ({ ...spec, trainer: { ...spec.trainer, params: { ...(spec.trainer.backend === 'builtin' ? spec.trainer.params : {}), epochs: 1, learningRate: 0.0005 } } }) as ModelSpec;

describe('retrain deploy: a hand-trained version rolled out like a retrained one (dev server, CLI, gateway)', () => {
  const stack = useStack({
    name: 'deploy',
    adminToken: TOKEN,
    env: { RETRAIN_TEST_FAULTS: '*' },
    gateway: true,
    config: (url) => `models:${modelYaml('deploy-hand', url)}${modelYaml('deploy-auto', url, 'approval: { when: never }\n    deploy: { registered: auto }')}`,
    // An under-trained first champion, so the hand-trained version clearly beats it on the holdout.
    async prepare({ backends, config }) {
      for (const spec of config.models) await seedChampion(backends, weakened(spec), { historyDays: 10, rowsPerDay: 400 });
    },
  });
  const cli = (...args: string[]) => runCli(['--config', stack.configFile, ...args], { ...stack.cliEnv, RETRAIN_USER: 'alice' });

  /** What the data scientist did in a notebook: a model trained on the lake's history, outside any run. */
  async function trainByHand(spec: ModelSpec, runId = 'notebook'): Promise<{ artifact: string; training: string }> {
    const dataset = await stack.backends.data.buildDataset(spec, { asOf: new Date(), source: 'training' });
    const outputDir = path.join(stack.dataDir, runId);
    mkdirSync(outputDir, { recursive: true });
    const trained = await trainingBackendFor(spec).train({ spec, datasetDir: dataset.datasetDir, outputDir, runId }, { signal: new AbortController().signal, onProgress: () => undefined });
    return { artifact: trained.artifactUri.startsWith('file:') ? fileURLToPath(trained.artifactUri) : trained.artifactUri, training: path.join(dataset.datasetDir, DATASET_FILES.train) };
  }

  it('registered by hand, deployed with the CLI, approved by another person, canaried on live traffic and promoted', async () => {
    const spec = stack.specs['deploy-hand'];
    const { artifact, training } = await trainByHand(spec);
    const registered = await cli('--json', 'models', 'register', spec.name, '--artifact', artifact, '--training-data', training);
    assert.equal(registered.code, 0, registered.stderr);
    const version = (JSON.parse(registered.stdout) as { version: number }).version;
    assert.equal(version, 2);

    const started = await cli('deploy', spec.name, `v${version}`, '--reason', 'trained in the notebook on the new features');
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /started retrain-deploy-hand/);
    const again = await cli('deploy', spec.name, String(version));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already running: retrain-deploy-hand .*nothing started/, 'one run per model at a time');

    const handle = stack.client.workflow.getHandle('retrain-deploy-hand');
    const result = handle.result() as Promise<PipelineResult>;
    // The approver sees the holdout comparison and the gates before deciding; alice asked, so she may not approve.
    const waiting = await eventually(
      async () => {
        const s = await pipelineStatus(stack.client, spec.name).catch(() => undefined);
        return s?.stage === 'awaiting_approval' ? s : undefined;
      },
      'the deployment to wait for approval',
      60_000,
    );
    assert.deepEqual(waiting.triggers, ['deploy']);
    assert.equal(waiting.evaluation?.challenger.version, version);
    assert.equal(waiting.evaluation?.champion?.version, 1);
    assert.ok(waiting.gates.every((g) => g.passed), JSON.stringify(waiting.gates));
    const self = await cli('approve', spec.name, '--as', 'alice');
    assert.equal(self.code, 4, 'alice is not an approver');
    const approved = await cli('approve', spec.name, '--as', 'bob', '--comment', 'holdout looks right');
    assert.equal(approved.code, 0, approved.stderr);

    const outcome = await serveUntilDone(stack, spec, result, { seed: 11 });
    assert.equal(outcome.outcome, 'promoted', outcome.reason);
    assert.equal(outcome.status.preTraffic?.passed, true, 'synthetic requests went to the version before any traffic');
    assert.ok((outcome.status.steps ?? []).every((s) => s.verdict === 'pass'), JSON.stringify(outcome.status.steps));
    assert.deepEqual(stack.backends.registry.aliases(spec.name), { champion: 2, challenger: null, previous: 1 });
    const ledger = stack.backends.registry.ledger({ model: spec.name }).map((e) => [e.action, e.toVersion, e.actor]);
    assert.deepEqual(ledger, [['promote', 1, 'retrain:seed'], ['register_challenger', 2, 'retrain'], ['promote', 2, 'bob']], 'each effect once despite the injected faults');
    const deployed = (await (await fetch(`${stack.gatewayUrl}/v1/admin/models/${spec.name}/deployment`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { champion?: { version: number | string } | null };
    assert.equal(Number(deployed.champion?.version), 2);
    const description = await handle.describe();
    assert.equal(description.type, 'deployVersion');
  });

  it('a worse version is refused by the gates with no traffic moved; the champion, an unknown version and a bad number are refused at once', async () => {
    const spec = stack.specs['deploy-hand'];
    // v1 (the weak seed) is now the previous champion: deploying it again goes through the gates.
    const started = await cli('deploy', spec.name, '1', '--reason', 'try the old one');
    assert.equal(started.code, 0, started.stderr);
    const outcome = (await stack.client.workflow.getHandle('retrain-deploy-hand').result()) as PipelineResult;
    assert.equal(outcome.outcome, 'rejected');
    assert.match(outcome.reason, /gates failed: .*log_loss/);
    assert.equal(outcome.status.steps, undefined, 'no canary step');
    assert.deepEqual(stack.backends.registry.aliases(spec.name), { champion: 2, challenger: null, previous: 1 });

    const champion = await cli('deploy', spec.name, '2');
    assert.equal(champion.code, 4);
    assert.match(champion.stderr, /v2 is already the champion/);
    const unknown = await cli('deploy', spec.name, '9');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /deploy-hand has no v9 \(registered: v1, v2\)/);
    const bad = await cli('deploy', spec.name, 'latest');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /version: expected a version number/);
  });

  it('deploy.registered: auto: the next monitor check deploys a newly registered version, and never tries one twice', async () => {
    const spec = stack.specs['deploy-auto'];
    const check = async () => {
      const r = await cli('--json', 'check', spec.name);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { action: string; detail: string; deployed?: { version: number } };
    };
    const register = async (artifact: string, training: string) => {
      const r = await cli('--json', 'models', 'register', spec.name, '--artifact', artifact, '--training-data', training);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { version: number }).version;
    };
    const good = await trainByHand(spec, 'notebook-auto');
    assert.equal(await register(good.artifact, good.training), 2);
    const first = await check();
    assert.equal(first.action, 'deployment_started', first.detail);
    assert.deepEqual(first.deployed, { version: 2 });
    const outcome = await serveUntilDone(stack, spec, stack.client.workflow.getHandle('retrain-deploy-auto').result() as Promise<PipelineResult>);
    assert.equal(outcome.outcome, 'promoted', outcome.reason);
    assert.deepEqual(outcome.status.triggers, ['deploy']);
    assert.equal(outcome.status.requestedBy, 'monitor');

    // A worse registration (the weak seed's artifact again) is tried once, refused by the gates, and left alone after.
    const weak = await trainByHand(weakened(spec), 'notebook-weak');
    assert.equal(await register(weak.artifact, weak.training), 3);
    assert.equal((await check()).action, 'deployment_started');
    const refused = (await stack.client.workflow.getHandle('retrain-deploy-auto').result()) as PipelineResult;
    assert.equal(refused.outcome, 'rejected');
    const again = await eventually(async () => {
      const c = await check();
      return c.action === 'deployment_started' ? assert.fail(`v3 deployed twice: ${c.detail}`) : c;
    }, 'a check after the refusal');
    assert.notEqual(again.action, 'deployment_started');
    assert.equal(stack.backends.registry.aliases(spec.name).champion, 2);
  });
});
