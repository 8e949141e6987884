import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/backends/models/index.js';
import { RayJobsClient, type RayJobInfo } from '../../src/backends/training/ray-client.js';
import { judgeEndedJob, rayAddress, submissionBase } from '../../src/backends/training/ray.js';
import { evaluate, RayJobsTrainingBackend, TrainingError, type TrainProgress } from '../../src/backends/training/index.js';
import { createLogger, setLogger } from '../../src/runtime/logger.js';
import { freePort } from '../helpers/free-port.js';
import { eventually } from '../helpers/poll.js';
import { useRayHead } from '../helpers/ray.js';
import { binarySpec, recordingContext, tempDir, writeBinaryDataset } from './fixtures.js';

setLogger(createLogger({ level: 'warn', pretty: false }));

const nodeTrainer = fileURLToPath(new URL('../fixtures/trainers/node-trainer.mjs', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILTIN_CONTRACT_TRAINER = path.join(REPO_ROOT, 'examples/trainers/builtin/train.ts');

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

  test('the built-in trainer, run as a contract trainer in a Ray job: progress from its log, a valid model and metrics', async (t) => {
    const spec = binarySpec({ backend: 'ray', address: ray().address, command: [process.execPath, '--import', 'tsx', BUILTIN_CONTRACT_TRAINER], cwd: REPO_ROOT, params: { epochs: 10, classWeight: 'balanced' }, timeout: '5m' });
    const submitted = performance.now();
    let firstProgressMs: number | undefined;
    const progress: TrainProgress[] = [];
    const ctx = {
      signal: new AbortController().signal,
      onProgress: (p: TrainProgress) => {
        firstProgressMs ??= performance.now() - submitted;
        progress.push(p);
      },
    };
    const req = request(spec);
    const result = await backend.train(req, ctx);
    t.diagnostic(`submit → first progress ${Math.round(firstProgressMs ?? -1)} ms; job wall (Ray) ${Math.round(result.wallMs)} ms; whole call ${Math.round(performance.now() - submitted)} ms`);
    assert.equal(result.format, 'retrain-linear/v1');
    assert.ok(result.artifactUri.includes(req.outputDir), result.artifactUri);
    assert.ok((result.metrics.roc_auc ?? 0) > 0.7, `validation AUC ${result.metrics.roc_auc}`);
    assert.ok(progress.length >= 3 && progress.at(-1)!.fraction === 1, `progress: ${JSON.stringify(progress.map((p) => p.message))}`);
    assert.ok(result.wallMs > 0 && result.costUsd > 0);
    // The gateway's scoring path reproduces the trainer's own validation numbers.
    const validation = await evaluate(result.artifactUri, path.join(datasetDir, 'validation.parquet'), spec);
    assert.ok(Math.abs((validation.metrics.roc_auc ?? 0) - (result.metrics.roc_auc ?? 1)) < 1e-6, `${validation.metrics.roc_auc} vs ${result.metrics.roc_auc}`);
    const model = await loadModel(result.artifactUri, { spec });
    await model.close();

    const [job] = await jobsOfRun(req.runId);
    assert.equal(job.status, 'SUCCEEDED');
    assert.equal(job.submission_id, `${submissionBase(spec.name, req.runId)}-1`);
    assert.ok(job.entrypoint.endsWith(path.join(req.outputDir, 'request.json')), job.entrypoint);
  });

  test('abort stops the Ray job: Ray reports STOPPED and the trainer process is gone', async () => {
    const pidFile = path.join(root.dir, 'abort.pid');
    const controller = new AbortController();
    const ctx = { signal: controller.signal, onProgress: () => controller.abort() }; // the first progress line: the trainer runs
    const req = request(nodeSpec({ mode: 'sleep', pidFile }));
    await assert.rejects(backend.train(req, ctx), (err: unknown) => {
      assert.ok(err instanceof TrainingError);
      assert.equal(err.kind, 'aborted');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /was stopped \(Ray reports STOPPED\)/);
      return true;
    });
    const [job] = await jobsOfRun(req.runId);
    assert.equal(job.status, 'STOPPED');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await eventually(async () => (alive(pid) ? undefined : true), `trainer pid ${pid} to be gone`, 10_000);
  });

  test('a job silent past heartbeatTimeout is hung: stopped, retryable, and the retry submits a new job', async () => {
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
    // Temporal's next attempt of the same run: the stopped job is not re-attached, a second one runs.
    const retried = await backend.train(request(nodeSpec({ mode: 'ok' }), runId, 2), recordingContext().ctx);
    assert.equal(retried.format, 'retrain-linear/v1');
    const jobs = await jobsOfRun(runId);
    assert.deepEqual(jobs.map((j) => `${j.submission_id.slice(-2)}:${j.status}`).sort(), ['-1:STOPPED', '-2:SUCCEEDED']);
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

  test('the trainer’s own non-zero exit is final; an unreachable dashboard is retryable', async () => {
    await assert.rejects(backend.train(request(nodeSpec({ mode: 'fail' })), recordingContext().ctx), (err: unknown) => {
      assert.ok(err instanceof TrainingError);
      assert.equal(err.kind, 'failed');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /exited with code 3: ValueError: the data is bad/);
      assert.equal(err.logTail.at(-1), 'ValueError: the data is bad');
      return true;
    });
    const closed = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(backend.train(request(nodeSpec({ mode: 'ok' }, { address: closed })), recordingContext().ctx), (err: unknown) => {
      assert.ok(err instanceof TrainingError);
      assert.equal(err.kind, 'lost');
      assert.equal(err.nonRetryable, false);
      assert.match(err.message, new RegExp(`cannot reach the Ray Jobs API at ${closed}`));
      return true;
    });
  });
});

describe('Ray backend: judging an ended job, and its address', () => {
  const trainer = binarySpec({ backend: 'ray', address: 'http://ray:8265', command: ['python3', 'train.py'] }).trainer as Extract<ReturnType<typeof binarySpec>['trainer'], { backend: 'ray' }>;
  const job = (over: Partial<RayJobInfo>): RayJobInfo => ({ submission_id: 'j', status: 'FAILED', entrypoint: 'x', message: null, error_type: null, driver_exit_code: null, metadata: null, start_time: 1, end_time: 2, ...over });

  test('a dead supervisor or an unknown failure is lost (retryable); a signal is a crash (retryable); a bad runtime_env is final', () => {
    const lost = judgeEndedJob(job({ error_type: 'JOB_SUPERVISOR_ACTOR_DIED', message: 'The actor died unexpectedly' }), trainer, []);
    assert.equal(lost?.kind, 'lost');
    assert.equal(lost?.nonRetryable, false);
    assert.equal(judgeEndedJob(job({ error_type: null }), trainer, [])?.kind, 'lost');
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
