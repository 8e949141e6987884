// @server dev
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ModelSpec } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/load.js';
import { inChallengerShare } from '../../src/serving/routing.js';
import { createGenerator, driftPlan, fraudReferenceModel } from '../../src/demo/simulator/index.js';
import { query } from '../data/helpers.js';
import { startCli } from '../helpers/cli.js';
import { answeredRequests, readEvidence } from '../helpers/evidence.js';
import { fraudModelYaml, freePort } from '../helpers/fraud-model.js';
import { eventually } from '../helpers/poll.js';

/**
 * The canary's evidence is the lake's, not a gateway's memory: real `retrain serve` processes
 * during a canary (challenger at 30%), with traffic and labels. A gateway killed with kill -9 and
 * started again on the same data dir, and two gateways sharing one data dir: servedEvidence over
 * the period counts exactly what the clients were answered, per variant, the challenger's errors
 * and the labels they sent. The challenger's artifact is fragile: an extreme input (every tenth
 * request) makes its score NaN, which is a challenger error answered by the champion.
 */
const TOKEN = 'evidence-token';
const MODEL = 'evidence-fraud';
const WEIGHT = 30;

type Gateway = ReturnType<typeof startCli> & { url: string };

interface Tally {
  champion: number;
  challenger: number;
  /** Requests of the challenger's share answered by the champion: the challenger failed them. */
  challengerErrors: number;
  labelled: number;
}

describe('served evidence across gateway restarts and replicas', () => {
  let dataDir: string;
  let configFile: string;
  let spec: ModelSpec;
  const running = new Set<Gateway>();
  let bodyCount = 0;

  async function start(port: number): Promise<Gateway> {
    const url = `http://127.0.0.1:${port}`;
    const gateway = { ...startCli(['--config', configFile, 'serve', '--port', String(port)], { RETRAIN_DATA_DIR: dataDir, RETRAIN_ADMIN_TOKEN: TOKEN }), url };
    running.add(gateway);
    await eventually(async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined), `the gateway on ${port} to answer /healthz`, 40_000, 100);
    return gateway;
  }

  async function stop(gateway: Gateway): Promise<void> {
    running.delete(gateway);
    if (gateway.child.exitCode !== null || gateway.child.signalCode !== null) return;
    gateway.child.kill('SIGTERM');
    assert.equal(await gateway.exited, 0, gateway.output());
  }

  async function kill(gateway: Gateway): Promise<void> {
    running.delete(gateway);
    gateway.child.kill('SIGKILL');
    await gateway.exited;
  }

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'retrain-evidence-'));
    configFile = path.join(dataDir, 'retrain.yaml');
    const yaml = `models:${fraudModelYaml(MODEL, 'http://127.0.0.1:8080', '')}`;
    spec = parseConfig(yaml).models[0];
    writeFileSync(configFile, yaml);
    mkdirSync(path.join(dataDir, 'artifacts'), { recursive: true });
    writeFileSync(path.join(dataDir, 'artifacts', 'v1.json'), JSON.stringify(fraudReferenceModel({ variant: 0 })));
    // Two features with almost no spread in training: 1.7e308 in both overflows the challenger to NaN, not the champion.
    const fragile = fraudReferenceModel({ variant: 1 });
    for (const k of [0, 1]) fragile.features[k] = { ...fragile.features[k], std: 0.01 } as (typeof fragile.features)[number];
    writeFileSync(path.join(dataDir, 'artifacts', 'v2.json'), JSON.stringify(fragile));
  });

  after(async () => {
    for (const gateway of [...running]) await kill(gateway);
  });

  const generator = () => createGenerator(spec, { seed: 11, drift: driftPlan('none', 0) });

  /**
   * `count` single predictions (every tenth extreme), `concurrency` in flight, then labels for every
   * other answered request (one feedback batch); returns what the client was answered. Every
   * request is awaited: nothing is in flight when this returns.
   */
  async function traffic(gateway: Gateway, count: number, concurrency = 16): Promise<Tally> {
    const g = generator();
    const tally: Tally = { champion: 0, challenger: 0, challengerErrors: 0, labelled: 0 };
    const answered: { id: string; label: number }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const extreme = next++ % 10 === 9;
        const e = g.sample(0);
        const entity = `${e.entity_id}-${bodyCount++}`;
        const features = extreme ? { ...e.features, transaction_amount: 1.7e308, account_age_days: 1.7e308 } : e.features;
        const body = JSON.stringify({ entity_id: entity, features });
        const r = await fetch(`${gateway.url}/v1/models/${MODEL}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        assert.equal(r.status, 200, await r.clone().text());
        const p = (await r.json()) as { request_id: string; variant: 'champion' | 'challenger' };
        tally[p.variant]++;
        if (p.variant === 'champion' && inChallengerShare(MODEL, entity, WEIGHT)) tally.challengerErrors++;
        answered.push({ id: p.request_id, label: e.label });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const labels = answered.filter((_, i) => i % 2 === 0).map((a) => ({ request_id: a.id, label: a.label }));
    const r = await fetch(`${gateway.url}/v1/models/${MODEL}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ labels }) });
    assert.equal(r.status, 202, await r.text());
    tally.labelled = labels.length;
    return tally;
  }

  const sum = (...tallies: Tally[]): Tally =>
    tallies.reduce((a, b) => ({ champion: a.champion + b.champion, challenger: a.challenger + b.challenger, challengerErrors: a.challengerErrors + b.challengerErrors, labelled: a.labelled + b.labelled }));

  async function evidence(from: number, to: number) {
    return readEvidence(dataDir, spec, { from, to, asOf: to, versions: { champion: '1', challenger: '2' } });
  }

  function assertMatches(e: Awaited<ReturnType<typeof evidence>>, client: Tally): void {
    const { champion, challenger, shadow } = e.variants;
    assert.ok(client.challengerErrors > 0, 'some extreme requests fell to the challenger');
    assert.deepEqual(
      { champion: champion.requests, challenger: challenger.requests - challenger.errors, challengerErrors: challenger.errors, labelled: champion.labelled + challenger.labelled },
      client,
      'the lake counts what the clients were answered, per variant, the challenger errors, and the labels they sent',
    );
    assert.deepEqual([champion.errors, shadow.requests], [0, 0]);
    assert.deepEqual(e.quarantined, []);
  }

  /** No request id has two rows of one variant in [from, to). */
  async function duplicates(from: number, to: number): Promise<number> {
    const glob = path.join(dataDir, 'lake', MODEL, 'predictions', '*', '*.parquet');
    const [row] = await query(
      `SELECT (count(*) - count(DISTINCT (request_id, variant)))::INTEGER AS n FROM read_parquet('${glob}', hive_partitioning = false)
       WHERE ts >= make_timestamp(${from * 1000}) AND ts < make_timestamp(${to * 1000})`,
    );
    return Number(row.n);
  }

  /** Champion v1, challenger v2 at WEIGHT, through the gateway's admin API (each replica holds its own deployment). */
  async function deployCanary(gateway: Gateway): Promise<void> {
    for (const [route, body] of [
      ['/champion', { version: 1, artifactUri: path.join(dataDir, 'artifacts', 'v1.json') }],
      ['/challenger', { version: 2, artifactUri: path.join(dataDir, 'artifacts', 'v2.json'), weight: WEIGHT }],
    ] as const) {
      const r = await fetch(`${gateway.url}/v1/admin/models/${MODEL}${route}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
      assert.equal(r.status, 200, await r.text());
    }
  }

  it('counts every answered request once across a kill -9 and a restart on the same data dir', async () => {
    const port = await freePort();
    const from = Date.now();
    let gateway = await start(port);
    await deployCanary(gateway);
    const beforeKill = await traffic(gateway, 600);
    // Killed right after the last answer: the last batches are in the journal, not yet in the lake.
    await kill(gateway);
    const inLakeAtKill = answeredRequests(await evidence(from, Date.now() + 1));

    // The restarted gateway restores the canary from serving.db and replays the killed one's journal.
    gateway = await start(port);
    const afterRestart = await traffic(gateway, 400);
    await stop(gateway);
    const to = Date.now() + 1;
    const client = sum(beforeKill, afterRestart);
    process.stdout.write(
      `# answered ${client.champion + client.challenger} (${client.challenger} by the challenger, ${client.challengerErrors} challenger errors), ${client.labelled} labelled; ` +
        `${inLakeAtKill} of the first ${beforeKill.champion + beforeKill.challenger} answers in the lake at the kill\n`,
    );
    assertMatches(await evidence(from, to), client);
    assert.equal(await duplicates(from, to), 0);
  });

  it('sums what two gateways sharing one data dir answered, read while both serve', async () => {
    const [a, b] = await Promise.all([start(await freePort()), start(await freePort())]);
    await deployCanary(a);
    await deployCanary(b);
    const from = Date.now();
    const [fromA, fromB] = await Promise.all([traffic(a, 400), traffic(b, 400)]);
    const client = sum(fromA, fromB);
    assert.ok(fromA.challenger > 0 && fromB.challenger > 0, 'both replicas served the canary');
    // While both still run (their writer threads append as this reads), the lake reaches the sum.
    await eventually(async () => (answeredRequests(await evidence(from, Date.now() + 1)) === client.champion + client.challenger ? true : undefined), 'both replicas\u2019 rows in the lake', 20_000, 100);
    await Promise.all([stop(a), stop(b)]);
    const to = Date.now() + 1;
    assertMatches(await evidence(from, to), client);
    assert.equal(await duplicates(from, to), 0);
  });
});
