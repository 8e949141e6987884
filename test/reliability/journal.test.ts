// @server dev
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { createGenerator, driftPlan, fraudReferenceModel } from '../../src/demo/simulator/index.js';
import { startCli } from '../helpers/cli.js';
import { fraudModelYaml, freePort } from '../helpers/fraud-model.js';
import { predictionRowsByRequest } from '../helpers/evidence.js';
import { eventually } from '../helpers/poll.js';

/**
 * `kill -9` of a real `retrain serve` at ~1,000 requests/s, then a restart on the same data dir:
 * every prediction that was answered 200 before the kill is in the lake exactly once (the journal
 * is replayed at start and rows the lake already has are skipped).
 */
const TOKEN = 'journal-token';
const MODEL = 'journal-fraud';
const RATE = 1_000;
const TOTAL = 6_000;
const KILL_AFTER = 3_500;

describe('the prediction journal across kill -9', () => {
  let dataDir: string;
  let configFile: string;
  let url: string;
  let gateway: ReturnType<typeof startCli> | undefined;

  async function start(): Promise<void> {
    gateway = startCli(['--config', configFile, 'serve', '--port', new URL(url).port], { RETRAIN_DATA_DIR: dataDir, RETRAIN_ADMIN_TOKEN: TOKEN });
    await eventually(async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined), 'the gateway to answer /healthz', 60_000);
  }

  async function stop(): Promise<void> {
    if (!gateway || gateway.child.exitCode !== null || gateway.child.signalCode !== null) return;
    gateway.child.kill('SIGTERM');
    assert.equal(await gateway.exited, 0, gateway.output());
  }

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'retrain-journal-'));
    url = `http://127.0.0.1:${await freePort()}`;
    configFile = path.join(dataDir, 'retrain.yaml');
    const yaml = `models:${fraudModelYaml(MODEL, url, '')}`;
    parseConfig(yaml);
    writeFileSync(configFile, yaml);
    mkdirSync(path.join(dataDir, 'artifacts'), { recursive: true });
    writeFileSync(path.join(dataDir, 'artifacts', 'v1.json'), JSON.stringify(fraudReferenceModel({ variant: 0 })));
    writeFileSync(path.join(dataDir, 'artifacts', 'v2.json'), JSON.stringify(fraudReferenceModel({ variant: 1 })));
    await start();
    await adminPut('/champion', { version: 1, artifactUri: path.join(dataDir, 'artifacts', 'v1.json') });
    await adminPut('/challenger', { version: 2, artifactUri: path.join(dataDir, 'artifacts', 'v2.json'), weight: 30 });
  });

  after(async () => {
    await stop();
  });

  async function adminPut(route: string, body: unknown): Promise<void> {
    const r = await fetch(`${url}/v1/admin/models/${MODEL}${route}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
    assert.equal(r.status, 200, await r.text());
  }

  it(`loses no answered prediction when killed at ${RATE} requests/s`, async () => {
    const spec = parseConfig(`models:${fraudModelYaml(MODEL, url, '')}`).models[0];
    const generator = createGenerator(spec, { seed: 5, drift: driftPlan('none', 0) });
    const bodies = Array.from({ length: 500 }, () => {
      const e = generator.sample(0);
      return JSON.stringify({ entity_id: e.entity_id, features: e.features });
    });
    const answered: string[] = [];
    let refused = 0;
    let firstRefusal = '';
    let killedAt = 0;
    const inFlight = new Set<Promise<void>>();
    // Kept-alive sockets and node:http: fetch's per-request cost held the client to ~250 requests/s here.
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const target = new URL(`${url}/v1/models/${MODEL}/predict`);
    const post = (body: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    const started = Date.now();
    let sent = 0;
    while (sent < TOTAL && sent <= KILL_AFTER + 200) {
      // Paced in small bursts: every tick sends what is due by then (RATE a second on average).
      const due = Math.min(TOTAL, Math.floor(((Date.now() - started) * RATE) / 1_000) + 1);
      for (; sent < due && sent <= KILL_AFTER + 200; sent++) {
        const i = sent;
        if (i === KILL_AFTER) {
          gateway!.child.kill('SIGKILL');
          killedAt = Date.now();
        }
        const p = post(bodies[i % bodies.length])
          .then((r) => {
            if (r.status === 200) answered.push((JSON.parse(r.text) as { request_id: string }).request_id);
            else {
              refused++;
              if (refused === 1) firstRefusal = `${r.status} ${r.text}`;
            }
          })
          .catch((err: Error) => {
            refused++;
            if (refused === 1) firstRefusal = `at ${Date.now() - started} ms, i=${i}: ${err.message}`;
          });
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(inFlight);
    agent.destroy();
    await gateway!.exited;
    const seconds = (Date.now() - started) / 1_000;
    // On a quiet machine all 3,500 are answered at 1,000/s; on a loaded CI host the gateway falls
    // behind and refuses some. What is asserted is that the answered ones are all kept, on enough of them.
    assert.ok(answered.length >= 1_000, `answered ${answered.length} of the ${KILL_AFTER} sent before the kill; ${refused} refused, first: ${firstRefusal}\n${gateway!.output().slice(-3000)}`);
    const journalDirs = readdirSync(path.join(dataDir, 'serving', 'journal'));
    assert.equal(journalDirs.length, 1, 'the killed process left its journal');

    const inLakeAtKill = [...(await predictionRowsByRequest(dataDir, MODEL)).values()].reduce((a, b) => a + b, 0);
    await start();
    await stop(); // a clean stop flushes what the replay queued
    const counts = await predictionRowsByRequest(dataDir, MODEL);
    const missing = answered.filter((id) => counts.get(id) !== 1);
    const lakeRows = [...counts.values()].reduce((a, b) => a + b, 0);
    const rate = (KILL_AFTER * 1_000) / (killedAt - started);
    process.stdout.write(
      `# kill -9 after ${KILL_AFTER} requests sent at ${rate.toFixed(0)}/s (asked ${RATE}/s; ${seconds.toFixed(1)} s in all): ${answered.length} answered, ${refused} refused/failed; ` +
        `${inLakeAtKill} rows in the lake at the kill, ${lakeRows} after the restart's replay; answered predictions missing or duplicated: ${missing.length}\n`,
    );
    assert.deepEqual(missing, [], 'every answered prediction is in the lake exactly once');
    assert.deepEqual(readdirSync(path.join(dataDir, 'serving', 'journal')), [], 'the replayed journal is gone');
  });
});


