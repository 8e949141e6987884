import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RayJobsClient, type RayJobInfo } from '../../src/backends/training/ray-client.js';
import { judgeEndedJob, rayAddress, submissionBase } from '../../src/backends/training/ray.js';
import { RayJobsTrainingBackend, TrainingError } from '../../src/backends/training/index.js';
import { createLogger, setLogger } from '../../src/runtime/logger.js';
import { freePort } from '../helpers/free-port.js';
import { eventually } from '../helpers/poll.js';
import { type RayHead, startRayHead, useRayHead } from '../helpers/ray.js';
import { MockActivityEnvironment } from '@temporalio/testing';
import { buildActivities, openBackends } from '../../src/activities/index.js';
import { parseConfig } from '../../src/config/load.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { mulberry32 } from '../../src/drift/index.js';
import { binarySpec, recordingContext, tempDir, writeBinaryDataset } from './fixtures.js';

setLogger(createLogger({ level: 'warn', pretty: false }));

const nodeTrainer = fileURLToPath(new URL('../fixtures/trainers/node-trainer.mjs', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Ray training backend against a real Ray head (`ray start --head` on loopback, started once
 * for this file): the JSON trainer contract submitted through the Jobs REST API, progress from the
 * job's log, stop on abort, hang and loss detection, re-attachment by submission id.
 */
describe('Ray training backend (Jobs REST API)', () => {
  const ray = useRayHead();
  let root: { dir: string; cleanup: () => Promise<void> };
  let datasetDir: string;
  let client: RayJobsClient;
  const backend = new RayJobsTrainingBackend({ pollMs: 100, stopWaitMs: 20_000 });
  let n = 0;
  const nodeSpec = (params: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    binarySpec({ backend: 'ray', address: ray().address, command: [process.execPath, nodeTrainer], params, timeout: '60s', heartbeatTimeout: '20s', ...extra });
  const request = (spec: ReturnType<typeof nodeSpec>, runId = `ray-run-${++n}`, attempt = 1) => ({ spec, datasetDir, runId, outputDir: path.join(root.dir, `${runId}-attempt-${attempt}`) });
  const jobsOfRun = async (runId: string) => (await client.jobs()).filter((j: RayJobInfo) => j.metadata?.retrain_run_id === runId);

  before(async () => {
    root = await tempDir('ray');
    datasetDir = path.join(root.dir, 'dataset');
    await writeBinaryDataset(datasetDir, { rows: 4_000 });
    client = new RayJobsClient(ray().address);
    console.log(`# Ray head answered its Jobs API ${ray().startMs} ms after ray start`);
  });
  after(() => root?.cleanup());

  test('the training activity trains through Ray: the built-in contract trainer in a Ray job, progress as heartbeats, a valid registered model', async (t) => {
    const dataDir = path.join(root.dir, 'data');
    const saved = process.env.RETRAIN_DATA_DIR;
    process.env.RETRAIN_DATA_DIR = dataDir;
    const config = parseConfig(`
models:
  - name: card-fraud
    task: binary_classification
    features: [{ name: amount, type: numerical }, { name: country, type: categorical }]
    label: { name: is_fraud, delay: 1h }
    trainer:
      backend: ray
      address: ${ray().address}
      command: [${JSON.stringify(process.execPath)}, --import, tsx, examples/trainers/builtin/train.ts]
      cwd: ${JSON.stringify(REPO_ROOT)}
      params: { epochs: 10, seed: 7 }
`);
    const spec = config.models[0];
    const backends = openBackends({ config, settings: runtimeSettings(), logger: createLogger({ level: 'warn', pretty: false, destination: process.stderr }) });
    try {
      const acts = buildActivities(backends);
      const random = mulberry32(11);
      const rows = Array.from({ length: 2_000 }, (_, i) => {
        const amount = Math.exp(3 + random() * 2);
        const country = ['FR', 'DE', 'US', 'BR'][Math.floor(random() * 4)];
        const risk = -4 + amount / 40 + (country === 'BR' ? 1.5 : 0);
        return { request_id: `t${i}`, ts: new Date(Date.now() - 20 * 86_400_000 + i * 600_000), features: { amount, country }, label: random() < 1 / (1 + Math.exp(-risk)) ? 1 : 0 };
      });
      await backends.data.appendTraining(spec, rows);
      const mock = new MockActivityEnvironment({ attempt: 1 });
      const beats: Array<{ fraction: number; message: string }> = [];
      const started = performance.now();
      let firstProgressMs: number | undefined;
      mock.on('heartbeat', (d: { fraction: number; message: string }) => {
        if (d.message !== 'starting') firstProgressMs ??= performance.now() - started;
        beats.push(d);
      });
      const dataset = await mock.run(acts.buildDataset as never, { ref: { model: spec.name }, asOf: new Date().toISOString() } as never) as Awaited<ReturnType<typeof acts.buildDataset>>;
      const trainStarted = performance.now();
      const run = { model: spec.name, workflowId: 'retrain-card-fraud', runId: 'run-ray-activity' };
      const challenger = await mock.run(acts.trainChallenger as never, { ref: { model: spec.name }, dataset, run } as never) as Awaited<ReturnType<typeof acts.trainChallenger>>;
      t.diagnostic(`trainChallenger through Ray: ${Math.round(performance.now() - trainStarted)} ms; activity start → first progress heartbeat ${Math.round((firstProgressMs ?? -1) - (trainStarted - started))} ms`);

      const version = backends.registry.getVersion(spec.name, challenger.version);
      assert.equal(version.trainer, 'ray');
      assert.ok((challenger.trainingMetrics.roc_auc ?? 0) > 0.7, JSON.stringify(challenger.trainingMetrics));
      assert.ok(beats.some((b) => b.fraction === 1), `heartbeats: ${JSON.stringify(beats.map((b) => b.message))}`);
      const evaluation = await mock.run(acts.evaluateCandidates as never, { ref: { model: spec.name }, dataset, challengerVersion: challenger.version } as never) as Awaited<ReturnType<typeof acts.evaluateCandidates>>;
      assert.ok(evaluation.challenger.metrics.roc_auc > 0.7, JSON.stringify(evaluation.challenger.metrics));
      const [job] = await jobsOfRun(run.runId);
      assert.equal(job.status, 'SUCCEEDED');
      assert.equal(job.submission_id, `${submissionBase(spec.name, run.runId)}-1`);
      assert.ok(job.entrypoint.endsWith(`${run.runId}-attempt-1/request.json`), job.entrypoint);
    } finally {
      await backends.close();
      if (saved === undefined) delete process.env.RETRAIN_DATA_DIR;
      else process.env.RETRAIN_DATA_DIR = saved;
    }
  });

  test('a job silent past heartbeatTimeout is hung (stopped, retryable); the retry is a new job, and a cancel stops it: STOPPED, its process gone', async (t) => {
    const runId = `ray-hung-${++n}`;
    const started = Date.now();
    await assert.rejects(backend.train(request(nodeSpec({ mode: 'sleep' }, { heartbeatTimeout: '1500ms' }), runId, 1), recordingContext().ctx), (err: unknown) => {
      assert.ok(err instanceof TrainingError);
      assert.equal(err.kind, 'hung');
      assert.equal(err.nonRetryable, false);
      assert.match(err.message, /printed nothing for 1500ms \(trainer\.heartbeatTimeout\)/);
      return true;
    });
    assert.ok(Date.now() - started < 30_000);

    // Temporal's next attempt of the same run: the stopped job is not re-attached, a second one
    // runs; the run is cancelled as soon as its trainer prints.
    const pidFile = path.join(root.dir, 'abort.pid');
    const controller = new AbortController();
    const submitted = performance.now();
    let firstProgressMs = 0;
    const ctx = {
      signal: controller.signal,
      onProgress: () => {
        firstProgressMs ||= performance.now() - submitted;
        controller.abort();
      },
    };
    await assert.rejects(backend.train(request(nodeSpec({ mode: 'sleep', pidFile }), runId, 2), ctx), (err: unknown) => {
      assert.ok(err instanceof TrainingError);
      assert.equal(err.kind, 'aborted');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /was stopped \(Ray reports STOPPED\)/);
      return true;
    });
    t.diagnostic(`submit → first progress of a node trainer ${Math.round(firstProgressMs)} ms`);
    const jobs = await jobsOfRun(runId);
    assert.deepEqual(jobs.map((j) => `${j.submission_id.slice(-2)}:${j.status}`).sort(), ['-1:STOPPED', '-2:STOPPED']);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await eventually(async () => (alive(pid) ? undefined : true), `trainer pid ${pid} to be gone`, 10_000);
  });

  test('a retried attempt re-attaches to the run’s running or finished job instead of training twice', async () => {
    const runsFile = path.join(root.dir, 'reattach-runs.txt');
    const runId = `ray-reattach-${++n}`;
    const spec = nodeSpec({ mode: 'slow', steps: 6, stepMs: 250, runsFile });
    let firstProgress!: () => void;
    const progressed = new Promise<void>((resolve) => (firstProgress = resolve));
    const attempt1 = backend.train(request(spec, runId, 1), { signal: new AbortController().signal, onProgress: () => firstProgress() });
    await progressed;
    // A second attempt while the job runs (its worker was thought dead): it follows the same job.
    const second = recordingContext();
    const [a, b] = await Promise.all([attempt1, backend.train(request(spec, runId, 2), second.ctx)]);
    assert.equal(b.artifactUri, a.artifactUri, 'both attempts read the one job’s output');
    assert.ok(second.progress.length > 0, 'the re-attached attempt reports the job’s progress too');
    // A third attempt after the job succeeded (the activity failed after training): no training at all.
    const c = await backend.train(request(spec, runId, 3), recordingContext().ctx);
    assert.equal(c.artifactUri, a.artifactUri);
    assert.equal(readFileSync(runsFile, 'utf8').trim().split('\n').length, 1, 'the trainer ran once');
    assert.equal((await jobsOfRun(runId)).length, 1);
  });

  test('a dashboard that does not answer for heartbeatTimeout is retryable (lost)', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(backend.train(request(nodeSpec({ mode: 'ok' }, { address: closed, heartbeatTimeout: '1s' })), recordingContext().ctx), (err: unknown) => {
      assert.ok(err instanceof TrainingError);
      assert.equal(err.kind, 'lost');
      assert.equal(err.nonRetryable, false);
      assert.match(err.message, new RegExp(`cannot reach the Ray Jobs API at ${closed}`));
      return true;
    });
  });

  // Last: it kills this file's Ray head and starts another on the same ports.
  test('a head restarted under a running job forgot it: lost, retryable', async (t) => {
    const runId = `ray-restart-${++n}`;
    let restarted: Promise<RayHead> | undefined;
    const restart = async () => {
      const ports = ray().ports;
      await ray().stop();
      return startRayHead({ ports });
    };
    const ctx = { signal: new AbortController().signal, onProgress: () => void (restarted ??= restart()) };
    const spec = nodeSpec({ mode: 'slow', steps: 1_000, stepMs: 200 }, { heartbeatTimeout: '60s' });
    try {
      await assert.rejects(backend.train(request(spec, runId, 1), ctx), (err: unknown) => {
        assert.ok(err instanceof TrainingError);
        assert.equal(err.kind, 'lost');
        assert.equal(err.nonRetryable, false);
        assert.match(err.message, /no longer knows job retrain-fraud-test-[0-9a-f]{12}-1 \(was the head restarted\?\)/);
        return true;
      });
      const second = await restarted!;
      t.diagnostic(`the head came back on its ports in ${second.startMs} ms`);
      // The next attempt finds no job -1 (404) and submits it, as every first attempt does; not run
      // here, since a job on a head just started costs 15-25 s on this machine.
      assert.deepEqual(await new RayJobsClient(second.address).job(`${submissionBase('fraud-test', runId)}-1`), undefined);
    } finally {
      await (await restarted?.catch(() => undefined))?.stop();
    }
  });
});

describe('Ray backend: judging an ended job, and its address', () => {
  const trainer = binarySpec({ backend: 'ray', address: 'http://ray:8265', command: ['python3', 'train.py'] }).trainer as Extract<ReturnType<typeof binarySpec>['trainer'], { backend: 'ray' }>;
  const job = (over: Partial<RayJobInfo>): RayJobInfo => ({ submission_id: 'j', status: 'FAILED', entrypoint: 'x', message: null, error_type: null, driver_exit_code: null, metadata: null, start_time: 1, end_time: 2, ...over });

  test('the trainer’s non-zero exit and a bad runtime_env are final; a signal is a crash, a dead supervisor or an unknown failure is lost (both retried)', () => {
    const lost = judgeEndedJob(job({ error_type: 'JOB_SUPERVISOR_ACTOR_DIED', message: 'The actor died unexpectedly' }), trainer, []);
    assert.equal(lost?.kind, 'lost');
    assert.equal(lost?.nonRetryable, false);
    assert.equal(judgeEndedJob(job({ error_type: null }), trainer, [])?.kind, 'lost');
    // As Ray 2.60 reports a trainer that exited 3 (seen on the real head): the trainer's own verdict, final.
    const exited = judgeEndedJob(job({ error_type: 'JOB_ENTRYPOINT_COMMAND_ERROR', driver_exit_code: 3, message: 'Job entrypoint command failed with exit code 3, last available logs (truncated to 20,000 chars):\n...' }), trainer, ['ValueError: the data is bad']);
    assert.equal(exited?.kind, 'failed');
    assert.equal(exited?.nonRetryable, true);
    assert.match(exited!.message, /exited with code 3: ValueError: the data is bad/);
    const killed = judgeEndedJob(job({ error_type: 'JOB_ENTRYPOINT_COMMAND_ERROR', driver_exit_code: -9 }), trainer, ['Killed']);
    assert.equal(killed?.kind, 'crashed');
    assert.equal(killed?.nonRetryable, false);
    assert.match(killed!.message, /killed by signal 9: Killed/);
    const badEnv = judgeEndedJob(job({ error_type: 'JOB_SUPERVISOR_ACTOR_START_FAILURE', message: 'Traceback…\nValueError: /x is not a valid URI.' }), trainer, []);
    assert.equal(badEnv?.nonRetryable, true);
    assert.match(badEnv!.message, /not a valid URI/);
    assert.equal(judgeEndedJob(job({ status: 'SUCCEEDED' }), trainer, []), undefined);
  });

  test('the address comes from the spec, else RETRAIN_RAY_ADDRESS; neither, or a bad one, is named', () => {
    assert.equal(rayAddress('m', trainer, {}), 'http://ray:8265');
    const noAddress = { ...trainer, address: undefined };
    assert.equal(rayAddress('m', noAddress, { RETRAIN_RAY_ADDRESS: 'http://head:8265' }), 'http://head:8265');
    assert.throws(() => rayAddress('m', noAddress, {}), /model m: trainer.backend is ray but neither trainer.address nor RETRAIN_RAY_ADDRESS/);
    assert.throws(() => rayAddress('m', noAddress, { RETRAIN_RAY_ADDRESS: 'head:8265' }), /RETRAIN_RAY_ADDRESS: expected the Ray dashboard URL/);
    assert.throws(() => binarySpec({ backend: 'ray', command: ['x'], workingDir: './trainer' }), /expected a URI Ray can fetch/);
  });
});
