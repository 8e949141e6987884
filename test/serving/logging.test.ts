import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LakeDataBackend } from '../../src/backends/data/lake/backend.js';
import { call, deploy, feedback, features, fraudSpec, predict, startTestGateway, testEnv, type TestEnv } from './helpers.js';
import { waitFor } from '../helpers/poll.js';

const spec = fraudSpec();
const WINDOW = () => ({ from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 3_600_000) });

async function lakeCount(dir: string, variant: 'champion' | 'challenger' | 'shadow' | 'all' = 'all'): Promise<number> {
  const lake = new LakeDataBackend({ dataDir: dir, threads: 1 });
  try {
    return (await lake.readWindow(spec, { ...WINDOW(), variant })).rowCount;
  } finally {
    await lake.close();
  }
}

function predictionFiles(dir: string): string[] {
  const root = path.join(dir, 'lake', 'fraud-detector', 'predictions');
  try {
    return readdirSync(root, { recursive: true }).map(String).filter((f) => f.endsWith('.parquet'));
  } catch {
    return [];
  }
}

function metric(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

const rows = (n: number, offset = 0) => ({ instances: Array.from({ length: n }, (_, i) => ({ entity_id: `user-${offset + i}`, features: features(offset + i) })) });

describe('prediction logging to the lake', () => {
  test('batches by size, keeps the remainder pending, and flushes it on close', async () => {
    const env = testEnv();
    const gw = await startTestGateway(env, { lakeLog: { maxRows: 100, maxDelayMs: 60_000 } });
    try {
      await deploy(gw.url, env);
      assert.equal((await predict(gw.url, rows(250))).status, 200);
      await waitFor(() => predictionFiles(env.dir).length === 2);
      const m = (await call(`${gw.url}/metrics`, 'GET')).body as string;
      assert.equal(metric(m, 'retrain_gateway_lake_rows_pending', 'table="predictions"'), 50);
      assert.equal(metric(m, 'retrain_gateway_lake_rows_logged_total', 'table="predictions"'), 200);
      assert.equal(await lakeCount(env.dir), 200);
    } finally {
      await gw.close();
    }
    assert.equal(predictionFiles(env.dir).length, 3);
    assert.equal(await lakeCount(env.dir, 'champion'), 250);
    env.cleanup();
  });

  test('a partial batch is written once its first row is maxDelayMs old', async () => {
    const env = testEnv();
    const gw = await startTestGateway(env, { lakeLog: { maxRows: 1_000, maxDelayMs: 300 } });
    try {
      await deploy(gw.url, env);
      await predict(gw.url, rows(7));
      const t = Date.now();
      await waitFor(() => predictionFiles(env.dir).length === 1);
      assert.ok(Date.now() - t >= 200, 'not before the delay');
      assert.equal(await lakeCount(env.dir), 7);
    } finally {
      await gw.close();
      env.cleanup();
    }
  });

  test('a failed flush is counted, retried, reported by /readyz, and the rows arrive once the lake is back', async () => {
    const env = testEnv();
    writeFileSync(path.join(env.dir, 'lake'), 'a file where the lake folder should be');
    const gw = await startTestGateway(env, { lakeLog: { maxRows: 1_000, maxDelayMs: 50, retryBaseMs: 100, retryMaxMs: 200 } });
    try {
      await deploy(gw.url, env);
      await predict(gw.url, rows(20));
      await waitFor(async () => metric((await call(`${gw.url}/metrics`, 'GET')).body, 'retrain_gateway_lake_flush_failures_total', 'table="predictions"') >= 2);
      const ready = await call(`${gw.url}/readyz`, 'GET');
      assert.equal(ready.status, 503);
      assert.match(ready.body.message, /lake writer: last write failed/);
      const m = (await call(`${gw.url}/metrics`, 'GET')).body as string;
      assert.equal(metric(m, 'retrain_gateway_lake_rows_pending', 'table="predictions"'), 20);

      rmSync(path.join(env.dir, 'lake'));
      await waitFor(async () => (await call(`${gw.url}/readyz`, 'GET')).status === 200);
      const after = (await call(`${gw.url}/metrics`, 'GET')).body as string;
      assert.equal(metric(after, 'retrain_gateway_lake_rows_logged_total', 'table="predictions"'), 20);
      assert.equal(metric(after, 'retrain_gateway_lake_rows_pending', 'table="predictions"'), 0);
      assert.equal(await lakeCount(env.dir), 20);
    } finally {
      await gw.close();
      env.cleanup();
    }
  });

  test('rows still unwritten when close() gives up go to the dead-letter folder as row objects', async () => {
    const env = testEnv();
    writeFileSync(path.join(env.dir, 'lake'), 'blocked');
    const gw = await startTestGateway(env, { lakeLog: { maxDelayMs: 60_000, retryBaseMs: 20, retryMaxMs: 40, closeAttempts: 2 } });
    try {
      await deploy(gw.url, env);
      await predict(gw.url, rows(5));
    } finally {
      await gw.close();
    }
    const deadDir = path.join(env.dir, 'serving', 'dead-letter');
    const files = readdirSync(deadDir);
    assert.equal(files.length, 1);
    assert.match(files[0], /^predictions-fraud-detector-.*\.jsonl$/);
    const lines = readFileSync(path.join(deadDir, files[0]), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 5);
    assert.deepEqual(Object.keys(lines[0]).sort(), ['entity_id', 'features', 'latency_ms', 'model_version', 'prediction', 'request_id', 'score', 'ts', 'variant']);
    assert.deepEqual(lines[0].features, features(0));
    env.cleanup();
  });

  test('with a DataBackend handed in, rows are written through it on the request thread', async () => {
    const env = testEnv();
    const data = new LakeDataBackend({ dataDir: env.dir, threads: 1 });
    const gw = await startTestGateway(env, { data, lakeLog: { maxDelayMs: 50 } });
    try {
      await deploy(gw.url, env);
      await predict(gw.url, rows(12));
      await waitFor(() => predictionFiles(env.dir).length === 1);
    } finally {
      await gw.close();
    }
    assert.equal((await data.readWindow(spec, { ...WINDOW(), variant: 'all' })).rowCount, 12);
    await data.close();
    env.cleanup();
  });

  describe('shadow challenger', () => {
    let env: TestEnv;
    before(() => {
      env = testEnv();
    });
    after(() => env.cleanup());

    test('is scored and logged but never returned', async () => {
      const gw = await startTestGateway(env, { lakeLog: { maxRows: 10_000, maxDelayMs: 60_000 } });
      try {
        await deploy(gw.url, env, { weight: 100, shadow: true });
        const res = await predict(gw.url, rows(300));
        assert.equal(res.status, 200);
        for (const p of res.body.predictions) {
          assert.equal(p.variant, 'champion');
          assert.equal(p.model_version, '1');
        }
        const one = await predict(gw.url, { entity_id: 'user-x', features: features(9) });
        assert.equal(one.body.variant, 'champion');

        // Feedback joins the shadow prediction too (it shares the request id).
        await feedback(gw.url, { labels: res.body.predictions.slice(0, 50).map((p: { request_id: string }) => ({ request_id: p.request_id, label: 1 })) });
        await waitFor(async () => (await call(`${gw.url}/v1/admin/models/fraud-detector/live-metrics`, 'GET', undefined, { authorization: 'Bearer test-admin-token-0123456789' })).body.shadow.requests === 301);
        const live = (await call(`${gw.url}/v1/admin/models/fraud-detector/live-metrics`, 'GET', undefined, { authorization: 'Bearer test-admin-token-0123456789' })).body;
        assert.equal(live.champion.requests, 301);
        assert.equal(live.challenger.requests, 0);
        assert.equal(live.shadow.labelledSamples, 50);
        assert.equal(live.champion.labelledSamples, 50);
      } finally {
        await gw.close();
      }
      assert.equal(await lakeCount(env.dir, 'champion'), 301);
      assert.equal(await lakeCount(env.dir, 'shadow'), 301);
    });
  });
});
