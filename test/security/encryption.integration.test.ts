// @server dev concurrent
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { FastifyInstance } from 'fastify';
import type { CheckResult, MonitorActivities } from '../../src/activities/contracts.js';
import { parseConfig } from '../../src/config/load.js';
import { specRevision } from '../../src/config/revision.js';
import { desiredSchedules, reconcileSchedules } from '../../src/schedules/reconcile.js';
import { startDevServer } from '../../src/runtime/dev-server.js';
import { createLogger } from '../../src/runtime/logger.js';
import { buildCodecServer } from '../../src/security/codec-server.js';
import { dataConverterFromEnv, payloadCodecFromEnv } from '../../src/security/payload-codec.js';
import { createWorkers } from '../../src/worker.js';
import type { MonitorResult } from '../../src/workflows/monitor.js';
import { knownTestSpec, testModel } from '../helpers/scripted-activities.js';
import { freePort } from '../helpers/fraud-model.js';
import { useStack } from '../helpers/stack.js';
import { uniqueQueue, workflowBundle } from '../helpers/temporal.js';

/**
 * Encryption end to end on a real dev server: the product's own worker (createWorkers) and client
 * (connectClient) with RETRAIN_PAYLOAD_KEY set run the monitor workflow; the history the server
 * stores holds ciphertext only; the codec server turns those raw payloads back into plaintext.
 */

const MARKER = 'confidential-report-7f3a9c';
const TOKEN = randomBytes(18).toString('base64url');
const KEY_V1 = randomBytes(32).toString('base64');
const KEY_ENV = { RETRAIN_PAYLOAD_KEY: KEY_V1, RETRAIN_PAYLOAD_KEY_ID: 'it-v1', RETRAIN_PAYLOAD_OLD_KEYS: '' };
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
const logger = createLogger({ level: 'silent', pretty: false });

const activities: MonitorActivities = {
  resolveSpec: async (ref) => knownTestSpec(ref.model),
  async checkModel({ ref, asOf }): Promise<CheckResult> {
    return {
      model: ref.model,
      checkedAt: asOf,
      window: { from: asOf, to: asOf, rows: 5_000 },
      champion: { version: 4, trainedAt: new Date(Date.parse(asOf) - 3 * 86_400_000).toISOString() },
      drift: { verdict: 'ok', evaluatedFeatures: 2, drifted: [], driftShare: 0 },
      newLabels: 10,
      reportPath: `/reports/${MARKER}.html`,
    };
  },
  async startRetrain({ ref }) {
    return { started: true, workflowId: `retrain-${ref.model}`, runId: 'not-started' }; // a calm check never gets here
  },
  registeredCandidate: async () => null,
  async startDeployment({ ref }) {
    return { started: false, workflowId: `retrain-${ref.model}`, runId: 'not-started' }; // deploy.registered is manual here
  },
};

/** Every payload in the input and result fields of a history. */
function historyPayloads(history: proto.temporal.api.history.v1.IHistory): Array<{ where: string; payload: Payload }> {
  const out: Array<{ where: string; payload: Payload }> = [];
  for (const e of history.events ?? []) {
    const add = (where: string, ps: Payload[] | null | undefined) => ps?.forEach((payload) => out.push({ where, payload }));
    add('workflow input', e.workflowExecutionStartedEventAttributes?.input?.payloads);
    add('activity input', e.activityTaskScheduledEventAttributes?.input?.payloads);
    add('activity result', e.activityTaskCompletedEventAttributes?.result?.payloads);
    add('workflow result', e.workflowExecutionCompletedEventAttributes?.result?.payloads);
  }
  return out;
}

const toJson = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

describe('payload encryption on a real Temporal dev server', () => {
  // The product's own client (connectClient) reads the key from the environment the stack sets.
  const stack = useStack({ name: 'secure', encryption: KEY_ENV });
  let workflowId: string;
  let raw: Payload[];

  it('the worker and client encrypt; the stored history holds no plaintext; only a client with the key reads the result', async () => {
    const queue = uniqueQueue('secure');
    const spec = testModel();
    workflowId = `secure-${queue}`;
    const workers = await createWorkers({
      connection: stack.nativeConnection,
      namespace: 'default',
      settings: { taskQueues: { control: queue, training: `${queue}-training` } },
      activities,
      workflowBundle: await workflowBundle(),
      queues: ['control'],
    });
    assert.equal(workers.length, 1);
    const result = (await workers[0].runUntil(stack.client.workflow.execute('monitorModel', { taskQueue: queue, workflowId, args: [{ model: spec.name }] }))) as MonitorResult;
    assert.equal(result.action, 'none');
    assert.equal(result.check.reportPath, `/reports/${MARKER}.html`, 'the client with the key decodes the result');

    // The raw history, read by a client without the codec (the test environment's).
    const plain = stack.plain;
    const history = await plain.workflow.getHandle(workflowId).fetchHistory();
    const found = historyPayloads(history);
    assert.deepEqual([...new Set(found.map((f) => f.where))].sort(), ['activity input', 'activity result', 'workflow input', 'workflow result']);
    for (const { where, payload } of found) {
      assert.equal(text(payload.metadata?.encoding), 'binary/encrypted', where);
      assert.equal(text(payload.metadata?.['encryption-key-id']), 'it-v1', where);
      for (const secret of [MARKER, 'transaction_amount', 'is_fraud', 'merchant_category']) assert.ok(!text(payload.data).includes(secret), `${where} holds "${secret}" in plaintext`);
    }
    // Nowhere in the whole stored history (search attributes and ids aside, which carry none of these).
    const bytes = Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish());
    for (const secret of [MARKER, 'transaction_amount', 'is_fraud']) assert.equal(bytes.indexOf(secret), -1, `"${secret}" appears in the stored history`);
    // What is not encrypted, by design: the workflow id and search attributes.
    assert.ok(bytes.includes(workflowId));
    assert.ok(bytes.includes(spec.name), 'the RetrainModel search attribute stays readable (visibility queries need it)');

    await assert.rejects(plain.workflow.getHandle(workflowId).result(), /binary\/encrypted/, 'a client without the key cannot read the result');
    raw = found.map((f) => f.payload);
  });

  it('after rotation the old history still reads with the old key listed, and names the key id without it', async () => {
    const rotated = { RETRAIN_PAYLOAD_KEY: randomBytes(32).toString('hex'), RETRAIN_PAYLOAD_KEY_ID: 'it-v2' };
    const withOld = new Client({ connection: stack.client.connection, namespace: 'default', dataConverter: dataConverterFromEnv({ ...rotated, RETRAIN_PAYLOAD_OLD_KEYS: `it-v1:${KEY_V1}` }) });
    const result = (await withOld.workflow.getHandle(workflowId).result()) as MonitorResult;
    assert.equal(result.check.reportPath, `/reports/${MARKER}.html`);
    const withoutOld = new Client({ connection: stack.client.connection, namespace: 'default', dataConverter: dataConverterFromEnv(rotated) });
    await assert.rejects(withoutOld.workflow.getHandle(workflowId).result(), (err: Error) => {
      const message = `${err.message} ${(err.cause as Error | undefined)?.message ?? ''}`;
      assert.match(message, /encryption key id "it-v1" is not configured/);
      assert.ok(!message.includes(KEY_V1));
      return true;
    });
  });

  it('schedules created by `retrain apply` store their workflow input encrypted, and read back with the key', async () => {
    const name = `secure-sched-${Date.now().toString(36)}`;
    const config = parseConfig(`models:\n  - name: ${name}\n    task: binary_classification\n    features: [{ name: secret_feature_x, type: numerical }]\n    label: { name: is_fraud }\n    monitor: { paused: true }\n`, 'secure.yaml');
    const desired = desiredSchedules(config, { taskQueues: { control: 'secure-control', training: 'secure-training' } });
    await reconcileSchedules(stack.client, desired, { prune: false });
    const scheduleId = desired[0].scheduleId;
    try {
      const raw = await stack.plain.workflowService.describeSchedule({ namespace: 'default', scheduleId });
      const input = raw.schedule?.action?.startWorkflow?.input?.payloads ?? [];
      assert.equal(input.length, 1);
      assert.equal(text(input[0].metadata?.encoding), 'binary/encrypted');
      const revision = specRevision(config.models[0]);
      assert.ok(!text(input[0].data).includes(revision));
      const described = await stack.client.schedule.getHandle(scheduleId).describe();
      const args = described.action.type === 'startWorkflow' ? (described.action.args as Array<{ model: string; configRevision: string }>) : [];
      assert.deepEqual(args[0], { model: name, configRevision: revision, scheduled: false }, 'the client with the key reads the schedule; it names the model and revision, never the spec');
      assert.equal((await reconcileSchedules(stack.client, desired, { prune: false }))[0].change, 'unchanged');
    } finally {
      await stack.client.schedule.getHandle(scheduleId).delete();
    }
  });

  describe('the codec server decodes the raw history payloads', () => {
    let app: FastifyInstance;
    let endpoint: string;
    before(async () => {
      app = await buildCodecServer({ codec: payloadCodecFromEnv(KEY_ENV), token: TOKEN, logger });
      await app.listen({ port: 0, host: '127.0.0.1' });
      endpoint = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/codec`;
    });
    after(() => app?.close());

    const decode = (headers: Record<string, string>) =>
      fetch(`${endpoint}/decode`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers }, body: JSON.stringify({ payloads: raw.map(toJson) }) });

    it('with the token: plaintext back', async () => {
      assert.ok(raw?.length >= 4, 'the workflow test ran first');
      const res = await decode({ authorization: `Bearer ${TOKEN}`, origin: 'http://localhost:8233' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:8233');
      const body = (await res.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
      assert.equal(body.payloads.length, raw.length);
      for (const p of body.payloads) assert.equal(Buffer.from(p.metadata.encoding, 'base64').toString(), 'json/plain');
      const values = body.payloads.map((p) => JSON.parse(Buffer.from(p.data, 'base64').toString()));
      assert.ok(values.some((v) => v?.features?.some((f: { name: string }) => f.name === 'transaction_amount')), 'the spec the worker resolved is readable again');
      assert.ok(values.some((v) => v?.check?.reportPath === `/reports/${MARKER}.html`), 'the workflow result is readable again');
    });

    it('without the token or with a wrong one: 401', async () => {
      assert.equal((await decode({})).status, 401);
      assert.equal((await decode({ authorization: 'Bearer not-the-token' })).status, 401);
      const wrong = await decode({ authorization: `Bearer ${TOKEN.slice(0, -1)}` });
      assert.equal(wrong.status, 401);
      assert.ok(!JSON.stringify(await wrong.json()).includes(MARKER));
    });

    it('the preflight the UI sends gets the CORS headers', async () => {
      const res = await fetch(`${endpoint}/decode`, {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost:8233', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-namespace, authorization' },
      });
      assert.equal(res.status, 204);
      assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:8233');
      assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
      assert.match(res.headers.get('access-control-allow-headers') ?? '', /x-namespace/i);
      assert.match(res.headers.get('access-control-allow-headers') ?? '', /authorization/i);
    });
  });

  it('the embedded dev server points its web UI at the codec endpoint', async () => {
    const uiPort = await freePort();
    const codecEndpoint = 'http://127.0.0.1:8091/codec';
    const server = await startDevServer({ dataDir: mkdtempSync(path.join(tmpdir(), 'retrain-codec-ui-')), port: 0, uiPort, persistent: false, uiCodecEndpoint: codecEndpoint });
    try {
      const settings = (await (await fetch(`${server.uiUrl}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string } };
      assert.equal(settings.Codec?.Endpoint, codecEndpoint);
    } finally {
      await server.stop();
    }
  });
});
