// @server dev
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { openBackends } from '../../src/activities/index.js';
import { pipelineStatus } from '../../src/client.js';
import { parseConfig } from '../../src/config/load.js';
import type { ModelSpec, RetrainConfig } from '../../src/config/schema.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { seedChampion } from '../../src/demo/seed.js';
import { createGenerator } from '../../src/demo/simulator/index.js';
import { createLogger } from '../../src/runtime/logger.js';
import { ensureSearchAttributes } from '../../src/runtime/search-attributes.js';
import type { PipelineResult } from '../../src/workflows/pipeline.js';
import { runCli, startCli } from '../helpers/cli.js';
import { predictionRowsByRequest } from '../helpers/evidence.js';
import { fraudModelYaml, freePort } from '../helpers/fraud-model.js';
import { postgresDatabase } from '../helpers/postgres.js';
import { useS3 } from '../helpers/s3.js';
import { eventually, useDevServer } from '../helpers/temporal.js';

/**
 * The production rehearsal (issue 17, item 5): docker-compose.yml's topology as real processes on
 * one machine, no shared disk between them. PostgreSQL (registry, ledger, deployment state), an S3
 * server (versitygw: artifacts, the lake, dataset snapshots), the Temporal server (the suite's dev
 * server, in a namespace of this file's own, as a cluster would give: `retrain apply` prunes only
 * there), `retrain apply`, a control worker and a training worker (`retrain worker --queues ...`),
 * and two gateway replicas (`retrain serve`), each process with a data dir of its own.
 *
 * The loop: a first champion seeded by the product's seed (what `npm run dev` runs) from a fifth
 * data dir onto the shared stores; `retrain trigger`; the dataset built by the control worker,
 * trained by the training worker on the snapshot it downloads; the canary on traffic sent round-robin
 * to both replicas with labels; replica B killed with SIGKILL mid-canary and started again on its
 * data dir; the run promoted on the evidence both replicas logged to the lake; every prediction
 * answered 200 read back from S3 through a sixth data dir, exactly once.
 */
const TOKEN = 'rehearsal-admin-token';
const MODEL = 'rehearsal-fraud';
const s3 = useS3({ bucket: 'retrain-rehearsal' });
const STORE = () => `s3://${s3().bucket}/prod`;

type Proc = ReturnType<typeof startCli> & { name: string };

describe('production rehearsal: the compose topology as real processes, a replica killed mid-canary', () => {
  const env = useDevServer();
  const root = mkdtempSync(path.join(tmpdir(), 'retrain-rehearsal-'));
  const dir = (name: string) => {
    const d = path.join(root, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const procs = new Map<string, Proc>();
  const gateways: Record<'a' | 'b', { url: string; dataDir: string }> = {} as never;
  let namespace: string;
  let client: Client;
  let configFile: string;
  let config: RetrainConfig;
  let common: NodeJS.ProcessEnv;
  const taskQueues = { control: `rehearsal-control-${process.pid}`, training: `rehearsal-training-${process.pid}` };

  function start(name: string, args: string[], extra: NodeJS.ProcessEnv): Proc {
    const proc = Object.assign(startCli(args, { ...common, ...extra }), { name });
    procs.set(name, proc);
    return proc;
  }
  const alive = (p: Proc | undefined) => p !== undefined && p.child.exitCode === null && p.child.signalCode === null;

  async function stop(proc: Proc | undefined): Promise<void> {
    if (!alive(proc)) return;
    proc!.child.kill('SIGTERM');
    const timer = setTimeout(() => proc!.child.kill('SIGKILL'), 15_000);
    await proc!.exited;
    clearTimeout(timer);
  }

  async function awaitLine(proc: Proc, pattern: RegExp, what: string, timeoutMs = 90_000): Promise<void> {
    await eventually(async () => {
      if (!alive(proc)) throw new Error(`${proc.name} exited before ${what}:\n${proc.output().slice(-3_000)}`);
      return pattern.test(proc.output()) ? true : undefined;
    }, `${what} (${proc.name})`, timeoutMs);
  }

  const answers = (url: string, check: string) => fetch(`${url}${check}`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
  function startGateway(which: 'a' | 'b'): Proc {
    const { url, dataDir } = gateways[which];
    return start(`gateway-${which}`, ['serve', '--port', new URL(url).port], { RETRAIN_DATA_DIR: dataDir });
  }
  /** Up (`/healthz`), or ready to serve (`/readyz`: its champion loaded), as a load balancer's check. */
  async function gatewayUp(which: 'a' | 'b', check: '/healthz' | '/readyz' = '/healthz'): Promise<void> {
    const proc = procs.get(`gateway-${which}`)!;
    await eventually(async () => {
      if (!alive(proc)) throw new Error(`gateway ${which} exited:\n${proc.output().slice(-3_000)}`);
      return (await answers(gateways[which].url, check)) ? true : undefined;
    }, `gateway ${which} to answer ${check}`, 90_000);
  }
  async function deployment(which: 'a' | 'b'): Promise<{ champion?: { version: number | string } | null; challenger?: { version: number | string; weight: number } | null }> {
    const response = await fetch(`${gateways[which].url}/v1/admin/models/${MODEL}/deployment`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as never;
  }

  before(async () => {
    // The product's database and the Temporal namespace, as an operator creates them once.
    const registryUrl = await postgresDatabase('rehearsal');
    namespace = `rehearsal-${process.pid}`;
    const connection = env().connection;
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    await eventually(() => connection.workflowService.describeNamespace({ namespace }).then(() => true, () => undefined), 'the rehearsal namespace');
    await ensureSearchAttributes(connection, namespace);
    client = new Client({ connection, namespace });

    gateways.a = { url: `http://127.0.0.1:${await freePort()}`, dataDir: dir('gateway-a') };
    gateways.b = { url: `http://127.0.0.1:${await freePort()}`, dataDir: dir('gateway-b') };
    // The model file every process reads (as compose mounts retrain.yaml); no serving URL: RETRAIN_GATEWAY_URL says where.
    const yaml = `models:${fraudModelYaml(
      MODEL,
      undefined,
      `
    trainer: { backend: builtin, params: { epochs: 4, seed: 3 } }
    approval: { when: never }
    gates: { metric: log_loss, floor: 1, minImprovement: 0.01 }
    monitor: { every: 24h }
    rollout: { steps: [{ weight: 50, duration: 20s }, { weight: 100 }], analysisInterval: 1s, minSamples: 20, failureLimit: 2 }`,
      { labelDelay: '1d' },
    )}`;
    config = parseConfig(yaml);
    configFile = path.join(dir('config'), 'retrain.yaml');
    writeFileSync(configFile, yaml);
    // What every service of the compose file gets: Temporal, PostgreSQL, the object store, the control plane.
    common = {
      ...s3().env,
      TEMPORAL_ADDRESS: env().address,
      TEMPORAL_NAMESPACE: namespace,
      RETRAIN_CONFIG: configFile,
      RETRAIN_REGISTRY_URL: registryUrl,
      RETRAIN_ARTIFACT_STORE: STORE(),
      RETRAIN_LAKE_STORE: STORE(),
      RETRAIN_ADMIN_TOKEN: TOKEN,
      RETRAIN_GATEWAY_URL: gateways.a.url,
      RETRAIN_CONTROL_QUEUE: taskQueues.control,
      RETRAIN_TRAINING_QUEUE: taskQueues.training,
      RETRAIN_DEPLOYMENT_POLL_MS: '250',
      RETRAIN_METRICS_PORT: '0',
      RETRAIN_LOG_LEVEL: 'info',
    };

    startGateway('a');
    startGateway('b');
    await Promise.all([gatewayUp('a'), gatewayUp('b')]);

    // The first champion: the product's seed from a data dir of its own onto the shared stores,
    // under-trained so that the retrained challenger clearly beats it on the holdout.
    // The seed runs as a process of the stack would: the same environment (the gateway client's token and
    // the registry's artifact checks read it), its own data dir.
    const seedEnv: NodeJS.ProcessEnv = { ...common, RETRAIN_DATA_DIR: dir('seed') };
    const saved = Object.fromEntries(Object.keys(seedEnv).map((k) => [k, process.env[k]]));
    Object.assign(process.env, seedEnv);
    const seedSettings = runtimeSettings();
    const seeding = openBackends({ config, settings: seedSettings, logger: createLogger({ level: 'warn', pretty: false, destination: process.stderr }) });
    try {
      const spec = config.models[0];
      const weak = { ...spec, trainer: { ...spec.trainer, params: { ...(spec.trainer.backend === 'builtin' ? spec.trainer.params : {}), epochs: 1, learningRate: 0.0005 } } } as ModelSpec;
      const seeded = await seedChampion(seeding, weak, { historyDays: 10, rowsPerDay: 400 });
      assert.equal(seeded.version, 1);
      assert.match(seeding.registry.getVersion(MODEL, 1).artifactUri, /^s3:\/\/retrain-rehearsal\/prod\/sha256\//, 'the seeded champion is an object in the store, not a file of the seed data dir');
    } finally {
      await seeding.close();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    // Deployed through replica A's control plane; B follows through PostgreSQL.
    await eventually(async () => (Number((await deployment('b')).champion?.version) === 1 ? true : undefined), 'replica B to serve champion v1', 30_000);
  });

  after(async () => {
    // Every process this file started, whatever happened: workers first, then the gateways (which flush).
    for (const name of ['worker-control', 'worker-training', 'gateway-a', 'gateway-b']) await stop(procs.get(name)).catch(() => undefined);
    // The schedule `retrain apply` made would start checks on a queue nobody polls any more.
    await client?.schedule.getHandle(`retrain-monitor-${MODEL}`).delete().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('trains on the training worker, canaries across both replicas, survives a SIGKILL of one and is promoted; every answered prediction is in the lake', async () => {
    const spec = config.models[0];

    // 1. The schedules, from the model file, by the real CLI.
    const applied = await runCli(['apply'], common);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, new RegExp(`\\+ retrain-monitor-${MODEL}: create`));
    const schedule = await client.schedule.getHandle(`retrain-monitor-${MODEL}`).describe();
    assert.equal(schedule.action.type === 'startWorkflow' ? schedule.action.taskQueue : undefined, taskQueues.control);

    // 2. The workers, each on its own data dir. The control worker loads the suite's prebuilt workflow
    // bundle; the training worker runs no workflow, so it must not read a bundle at all (a missing file would stop it).
    const controlDir = dir('worker-control');
    const trainingDir = dir('worker-training');
    const control = start('worker-control', ['worker', '--queues', 'control'], { RETRAIN_DATA_DIR: controlDir, RETRAIN_WORKFLOW_BUNDLE: process.env.RETRAIN_TEST_WORKFLOW_BUNDLE ?? '' });
    const training = start('worker-training', ['worker', '--queues', 'training'], { RETRAIN_DATA_DIR: trainingDir, RETRAIN_WORKFLOW_BUNDLE: path.join(root, 'no-such-bundle.js') });
    await Promise.all([awaitLine(control, /Worker polling/, 'the control worker to poll'), awaitLine(training, /Worker polling/, 'the training worker to poll')]);

    // 3. The trigger, by the real CLI.
    const triggered = await runCli(['trigger', MODEL, '--reason', 'production rehearsal'], common);
    assert.equal(triggered.code, 0, triggered.stderr);
    const handle = client.workflow.getHandle(`retrain-${MODEL}`);
    const result = handle.result() as Promise<PipelineResult>;
    let done = false;
    void result.finally(() => (done = true)).catch(() => undefined);

    // 4. Users: round-robin over both replicas while the canary runs, each answer labelled with its truth.
    const generator = createGenerator(spec, { seed: 11, drift: { kind: 'none', startMs: 0, windowMs: 0, periodMs: 1 } });
    const answered = { a: new Set<string>(), b: new Set<string>() };
    const refused = { a: 0, b: 0 };
    let sent = 0;
    let turn = 0;
    // Set from a promise's callback too (B ready again), so held in an object TypeScript does not narrow.
    const rotation: { phase: 'both' | 'b-killed' | 'b-restarting' | 'b-back' } = { phase: 'both' };
    let killedAt: { stage: string; bAnswered: number; aAnswered: number } | undefined;
    let aAtKill = 0;
    let restarted: Promise<void> | undefined;
    while (!done) {
      const stage = (await pipelineStatus(client, MODEL).catch(() => undefined))?.stage;
      if (stage !== 'canary') {
        await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 200))]);
        continue;
      }
      // Round-robin, as a load balancer does over the replicas that pass their readiness check.
      const inRotation: boolean = rotation.phase === 'both' || rotation.phase === 'b-back';
      const which: 'a' | 'b' = turn++ % 2 === 0 || !inRotation ? 'a' : 'b';
      const events = Array.from({ length: 20 }, () => generator.sample(sent++ * 10));
      const body = JSON.stringify({ instances: events.map((e, i) => ({ entity_id: `${e.entity_id}-${sent}-${i}`, features: e.features })) });
      const response = await fetch(`${gateways[which].url}/v1/models/${MODEL}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).catch(() => undefined);
      if (!response) {
        refused[which]++; // B killed between the check and the request: not answered, so not expected in the lake
        continue;
      }
      assert.equal(response.status, 200, await response.clone().text());
      const predictions = ((await response.json()) as { predictions: Array<{ request_id: string }> }).predictions;
      for (const p of predictions) answered[which].add(p.request_id);
      const labels = predictions.map((p, i) => ({ request_id: p.request_id, label: events[i].label }));
      // Feedback to the same replica, or the other one when it just died.
      for (const target of which === 'a' ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
        const fb = await fetch(`${gateways[target].url}/v1/models/${MODEL}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ labels }) }).catch(() => undefined);
        if (!fb) continue;
        assert.equal(fb.status, 202, await fb.clone().text());
        break;
      }

      // 5. Mid-canary, once B has answered a few batches: SIGKILL (no flush, no goodbye), then, after A
      // carried the traffic alone for a while, B again on its own data dir (its journal is replayed).
      if (rotation.phase === 'both' && answered.b.size >= 100) {
        const b = procs.get('gateway-b')!;
        b.child.kill('SIGKILL');
        await b.exited;
        killedAt = { stage, bAnswered: answered.b.size, aAnswered: answered.a.size };
        aAtKill = answered.a.size;
        rotation.phase = 'b-killed';
      } else if (rotation.phase === 'b-killed' && answered.a.size >= aAtKill + 100) {
        startGateway('b');
        restarted = gatewayUp('b', '/readyz').then(() => void (rotation.phase = 'b-back'));
        rotation.phase = 'b-restarting';
      }
    }
    const outcome = await result;
    if (restarted === undefined && rotation.phase === 'b-killed') {
      startGateway('b');
      restarted = gatewayUp('b', '/readyz');
    }
    await restarted;

    // The run ended right: promoted, judged on the lake's evidence from both replicas.
    assert.ok(killedAt, `replica B was never killed: the canary ended first (B answered ${answered.b.size})`);
    assert.equal(killedAt.stage, 'canary');
    assert.equal(outcome.outcome, 'promoted', `${outcome.reason}\n${JSON.stringify(outcome.status.analyses)}`);
    assert.ok(answered.a.size >= aAtKill + 100, 'replica A carried the traffic while B was down');
    assert.ok(outcome.status.analyses.some((a) => a.verdict === 'pass' && (a.evidence?.challenger.labelled ?? 0) > 0), 'the canary was judged on served rows and labels read back from S3');

    // Training ran on the training worker: its queue and its process in the history, the snapshot in its data dir.
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainChallenger');
    assert.equal(scheduled.length, 1);
    assert.equal(scheduled[0].activityTaskScheduledEventAttributes?.taskQueue?.name, taskQueues.training);
    const trainingStarts = events.filter((e) => e.activityTaskStartedEventAttributes && String(e.activityTaskStartedEventAttributes.scheduledEventId) === String(scheduled[0].eventId));
    assert.ok(trainingStarts.length >= 1);
    for (const e of trainingStarts) assert.match(e.activityTaskStartedEventAttributes?.identity ?? '', new RegExp(`^${training.child.pid}@`), 'trainChallenger was started by the training worker process');
    const otherStarts = events.filter((e) => e.activityTaskStartedEventAttributes && String(e.activityTaskStartedEventAttributes.scheduledEventId) !== String(scheduled[0].eventId));
    assert.ok(otherStarts.length > 0);
    for (const e of otherStarts) assert.match(e.activityTaskStartedEventAttributes?.identity ?? '', new RegExp(`^${control.child.pid}@`), 'every other activity ran on the control worker');
    const datasets = readdirSync(path.join(trainingDir, 'datasets', MODEL)).filter((d) => d.startsWith('ds-'));
    assert.equal(datasets.length, 1, 'the training worker downloaded the snapshot into its own data dir');
    assert.ok(!existsSync(path.join(controlDir, 'lake')), 'the control worker keeps no lake of its own');

    // The registry (PostgreSQL) and both replicas agree on the new champion.
    const versions = await runCli(['--json', 'models', 'show', MODEL], common);
    assert.equal(versions.code, 0, versions.stderr);
    assert.match(versions.stdout, /s3:\/\/retrain-rehearsal\/prod\/sha256\//);
    for (const which of ['a', 'b'] as const) {
      await eventually(async () => {
        const d = await deployment(which);
        return Number(d.champion?.version) === 2 && !d.challenger ? true : undefined;
      }, `replica ${which.toUpperCase()} to serve v2 alone`, 30_000);
    }

    // Every prediction answered 200, by either replica, is in the lake exactly once, read from S3
    // through a data dir of its own. B's rows answered before the kill came back through its journal.
    const restartedB = procs.get('gateway-b')!;
    await awaitLine(restartedB, /replayed the journals of gateway processes that did not stop cleanly/, 'replica B to replay the journal of its killed process', 30_000);
    const replay = restartedB
      .output()
      .split('\n')
      .filter((line) => line.includes('replayed the journals'))
      .map((line) => JSON.parse(line) as { journals: number; replayed: number; alreadyInLake: number })[0];
    assert.equal(replay.journals, 1, 'the killed process left one journal');
    // B was killed milliseconds after answering, inside the lake log's 1 s batching: its last rows were in the journal alone.
    assert.ok(replay.replayed > 0, `the restart replayed rows the lake did not have yet (${JSON.stringify(replay)})`);
    const all = [...answered.a, ...answered.b];
    const readerDir = dir('reader');
    const store = runtimeSettings({ RETRAIN_LAKE_STORE: STORE() }).lakeStore;
    let missing: string[] = [];
    const rows = await eventually(async () => {
      const inLake = await predictionRowsByRequest(readerDir, MODEL, store);
      missing = all.filter((id) => !inLake.has(id));
      return missing.length === 0 ? inLake : undefined;
    }, `every answered request id in the lake (${all.length} answered)`, 60_000).catch((err: Error) => assert.fail(`${err.message}: ${missing.length} missing, e.g. ${missing.slice(0, 3).join(', ')}; ${missing.filter((id) => answered.b.has(id)).length} of them answered by B`));
    const twice = all.filter((id) => rows.get(id) !== 1);
    assert.deepEqual(twice, [], 'each answered prediction once');
    console.log(`# rehearsal: ${answered.a.size} answered by A, ${answered.b.size} by B (${killedAt.bAnswered} before its SIGKILL, ${replay.replayed} rows replayed from its journal, ${replay.alreadyInLake} already in the lake), ${refused.b} requests to B refused`);
  });
});
