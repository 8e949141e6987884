import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { openBackends, type Backends } from '../../src/activities/index.js';
import { pipelineActivities } from '../../src/activities/pipeline.js';
import { servingActivities } from '../../src/activities/serving.js';
import type { RetrainConfig } from '../../src/config/schema.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { buildProfile, mulberry32, type DriftProfile } from '../../src/drift/index.js';
import { createGateway, type Gateway } from '../../src/serving/gateway.js';
import { fraudReferenceModel } from '../../src/demo/simulator/reference-model.js';
import { query } from '../data/helpers.js';
import { waitFor } from '../helpers/poll.js';
import { admin, features, fraudSpec, predict, quiet, TOKEN } from './helpers.js';

/**
 * Pre-traffic checks against a real gateway on loopback, through the real activity, registry and
 * lake: a healthy challenger passes; one whose score is NaN on the profile's edge values is caught
 * with the row that did it; neither the synthetic rows nor their failures reach the lake, the live
 * metrics or the traffic split.
 */
const MODEL = 'fraud-detector';

function referenceProfile(): DriftProfile {
  const spec = fraudSpec();
  const random = mulberry32(3);
  const rows = Array.from({ length: 2_000 }, (_, i): Record<string, number | string | null> => ({ ...features(i), transaction_amount: Math.exp(2 + random() * 5) }));
  const columns = Object.fromEntries(spec.features.map((f) => [f.name, rows.map((r) => r[f.name])]));
  return buildProfile(columns as never, { features: spec.features.map((f) => ({ name: f.name, type: f.type })) });
}

/** The reference model with two standard deviations so small that a value away from the mean overflows: the edges' +∞ and −∞ meet as NaN. */
function fragileModel() {
  const model = fraudReferenceModel();
  model.features[0] = { ...model.features[0], std: 1e-320 } as (typeof model.features)[number];
  model.features[1] = { ...model.features[1], std: 1e-320 } as (typeof model.features)[number];
  return model;
}

async function lakeRows(dir: string, table: 'predictions' | 'serving_errors'): Promise<Array<{ model_version: string; n: number }>> {
  const glob = path.join(dir, 'lake', MODEL, table, '*', '*.parquet');
  try {
    return (await query(`SELECT model_version, count(*)::INTEGER AS n FROM read_parquet('${glob}', hive_partitioning = false) GROUP BY 1 ORDER BY 1`)) as Array<{ model_version: string; n: number }>;
  } catch {
    return []; // no file yet
  }
}

describe('pre-traffic checks through a real gateway', () => {
  let dir: string;
  let gateway: Gateway;
  let url: string;
  let backends: Backends;
  let acts: ReturnType<typeof servingActivities> & ReturnType<typeof pipelineActivities>;
  const savedToken = process.env.RETRAIN_ADMIN_TOKEN;
  const mock = new MockActivityEnvironment({ attempt: 1 });
  const run = (name: string) => ({ model: MODEL, workflowId: `retrain-${MODEL}`, runId: name });
  const check = (challenger: number, runId: string) =>
    mock.run(acts.preTrafficChecks as never, { ref: { model: MODEL }, versions: { champion: 1, challenger }, run: run(runId) } as never) as ReturnType<typeof acts.preTrafficChecks>;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'retrain-pretraffic-'));
    const artifact = (name: string, model: unknown) => {
      const file = path.join(dir, 'artifacts', `${name}.json`);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(model));
      return file;
    };
    const files = [artifact('v1', fraudReferenceModel()), artifact('v2', fraudReferenceModel({ variant: 1 })), artifact('v3', fragileModel())];
    gateway = await createGateway({ config: { models: [fraudSpec()] }, dataDir: dir, logger: quiet, adminToken: TOKEN, defaultMetrics: false, lakeLog: { maxDelayMs: 50 } });
    await gateway.app.listen({ port: 0, host: '127.0.0.1' });
    const address = gateway.app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    process.env.RETRAIN_ADMIN_TOKEN = TOKEN;
    const spec = fraudSpec({ serving: { entityKey: 'entity_id', url } });
    backends = openBackends({ config: { models: [spec] } as unknown as RetrainConfig, settings: { ...runtimeSettings(), dataDir: dir }, logger: quiet });
    acts = { ...servingActivities(backends), ...pipelineActivities(backends) };
    const profile = referenceProfile();
    for (const file of files) await backends.registry.registerVersion({ model: MODEL, artifactUri: file, metrics: { accuracy: 0.9 }, referenceProfile: profile, trainer: 'test' });
    backends.registry.promote(MODEL, 1, { actor: 'test', reason: 'first champion' });
    const deployed = await admin(url, 'PUT', '/champion', { version: 1, artifactUri: files[0] });
    assert.equal(deployed.status, 200, JSON.stringify(deployed.body));
  });

  after(async () => {
    await backends?.close();
    await gateway?.close();
    if (savedToken === undefined) delete process.env.RETRAIN_ADMIN_TOKEN;
    else process.env.RETRAIN_ADMIN_TOKEN = savedToken;
    rmSync(dir, { recursive: true, force: true });
  });

  it('a healthy challenger passes: every valid row scored in range, the left-out features refused, within the budget; it is staged with no traffic', async () => {
    const record = await check(2, 'run-healthy');
    assert.equal(record.passed, true, record.reason);
    assert.equal(record.profile, 'challenger');
    assert.equal(record.refusedAsExpected, 7, 'each of the 7 features left out is refused by the schema');
    assert.equal(record.failureCount, 0);
    assert.ok(record.requests.typical >= 5 && record.requests.edge >= 10 && record.requests.missing === 15 && record.requests.unseen === 9, JSON.stringify(record.requests));
    assert.ok(record.latencyMs.p99! <= 250, `p99 ${record.latencyMs.p99} ms`);

    const deployment = await admin(url, 'GET', '/deployment');
    assert.deepEqual([deployment.body.challenger.version, deployment.body.challenger.weight, deployment.body.challenger.shadow], ['2', 0, false]);
    assert.equal(backends.registry.aliases(MODEL).challenger, 2);
    // Staged is not serving: live requests all go to the champion.
    for (let i = 0; i < 40; i++) {
      const answer = await predict(url, { entity_id: `e${i}`, features: features(i) });
      assert.equal(answer.body.variant, 'champion');
    }
    // The synthetic rows never reach the lake: only the 40 live predictions do, all the champion's.
    await waitFor(async () => (await lakeRows(dir, 'predictions')).reduce((n, r) => n + r.n, 0) >= 40, 20_000, 'the live predictions in the lake');
    assert.deepEqual(await lakeRows(dir, 'predictions'), [{ model_version: '1', n: 40 }]);
    const live = gateway.ctx.models.get(MODEL)!.live.snapshot(0, Date.now());
    assert.equal(live.challenger.requests, 0);

    await mock.run(acts.setTraffic as never, { model: MODEL, challengerVersion: 2, weight: 0, run: run('run-healthy') } as never);
    await mock.run(acts.discardChallenger as never, { model: MODEL, version: 2, reason: 'test done', run: run('run-healthy') } as never);
  });

  it('a challenger that answers NaN on edge values is caught with the row; its failures are not logged as served errors; the compensation leaves the champion alone', async () => {
    const record = await check(3, 'run-fragile');
    assert.equal(record.passed, false);
    const nan = record.failures.find((f) => f.label === 'every numerical feature at its reference max');
    assert.ok(nan, record.failures.map((f) => `${f.label}: ${f.reason}`).join('\n'));
    assert.equal(nan.reason, 'output out of range: non-finite score NaN');
    assert.equal(nan.category, 'edge');
    assert.equal(typeof nan.row?.transaction_amount, 'number');
    assert.match(record.reason, /^pre-traffic checks failed on \d+ of \d+ synthetic requests/);

    // What the workflow's compensation does: the champion alone, the challenger alias cleared.
    await mock.run(acts.setTraffic as never, { model: MODEL, challengerVersion: 3, weight: 0, run: run('run-fragile') } as never);
    await mock.run(acts.discardChallenger as never, { model: MODEL, version: 3, reason: record.reason, run: run('run-fragile') } as never);
    const deployment = await admin(url, 'GET', '/deployment');
    assert.equal(deployment.body.challenger, null);
    assert.equal(deployment.body.champion.weight, 100);
    assert.equal(backends.registry.aliases(MODEL).challenger, null);
    // One more live request flushes the lake log: still no row of v3, nothing in serving_errors.
    await predict(url, { entity_id: 'after', features: features(1) });
    await waitFor(async () => (await lakeRows(dir, 'predictions')).reduce((n, r) => n + r.n, 0) >= 41, 20_000, 'the last live prediction in the lake');
    assert.deepEqual(await lakeRows(dir, 'predictions'), [{ model_version: '1', n: 41 }]);
    assert.deepEqual(await lakeRows(dir, 'serving_errors'), []);
  });

  it('the route is admin-only, names its variant and version, and refuses a batch as one instance', async () => {
    const body = { variant: 'challenger', version: 2, instances: [{ features: features(1) }] };
    assert.equal((await admin(url, 'POST', '/synthetic', body, null)).status, 401);
    const none = await admin(url, 'POST', '/synthetic', body);
    assert.equal(none.status, 409);
    assert.match(none.body.message, /no challenger deployed/);
    const wrong = await admin(url, 'POST', '/synthetic', { ...body, variant: 'champion' });
    assert.equal(wrong.status, 409);
    assert.match(wrong.body.message, /the champion is v1, not v2/);
    const bad = await admin(url, 'POST', '/synthetic', { variant: 'both', version: 1, instances: [] });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /variant: expected the variant to score: champion or challenger; instances: expected at least one instance/);
    const slow = await admin(url, 'POST', '/synthetic', { variant: 'champion', version: 1, instances: [{ features: features(1) }], retimeAboveMs: -1 });
    assert.equal(slow.status, 400);
    assert.match(slow.body.message, /retimeAboveMs: expected a latency in milliseconds above 0/);
    const ok = await admin(url, 'POST', '/synthetic', { variant: 'champion', version: 1, retimeAboveMs: 0.000001, instances: [{ features: features(1) }, { instances: [{ features: features(2) }] }, { features: { ...features(3), transaction_amount: 'x' } }] });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body.answers.map((a: { outcome: string }) => a.outcome), ['scored', 'refused', 'refused']);
    assert.equal(ok.body.answers[2].status, 400);
  });
});
