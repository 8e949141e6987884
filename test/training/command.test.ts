import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/backends/models/index.js';
import { CommandTrainingBackend, parseProgress, TrainingError } from '../../src/backends/training/index.js';
import { redactedTail } from '../../src/backends/training/command.js';
import { createLogger, setLogger } from '../../src/runtime/logger.js';
import { binarySpec, recordingContext, regressionSpec, tempDir, writeBinaryDataset } from './fixtures.js';

// Trainer stdout lines are logged at info; keep the test output to the TAP report.
setLogger(createLogger({ level: 'warn', pretty: false }));

const trainerScript = fileURLToPath(new URL('../fixtures/trainers/node-trainer.mjs', import.meta.url));

function spec(params: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return binarySpec({ backend: 'command', command: [process.execPath, trainerScript], params, timeout: '30s', costPerHour: 3.6, ...extra });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Rejects with a TrainingError; non-retryable unless `retryable` says otherwise. */
async function rejectsWith(promise: Promise<unknown>, check: (err: TrainingError) => void, retryable = false): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof TrainingError, `expected TrainingError, got ${String(err)}`);
    assert.equal(err.nonRetryable, !retryable);
    check(err);
    return true;
  });
}

describe('command training backend', () => {
  let root: { dir: string; cleanup: () => Promise<void> };
  let datasetDir: string;
  const backend = new CommandTrainingBackend({ killGraceMs: 500 });
  let run = 0;
  const request = (s: ReturnType<typeof spec>) => ({ spec: s, datasetDir, outputDir: path.join(root.dir, `out-${++run}`), runId: `run-${run}` });

  before(async () => {
    root = await tempDir('command');
    datasetDir = path.join(root.dir, 'dataset');
    await writeBinaryDataset(datasetDir, { rows: 200 });
  });
  after(() => root.cleanup());

  test('success: progress lines become callbacks, outputs are validated, cost = wall time × rate', async () => {
    const { ctx, progress } = recordingContext();
    const req = request(spec({ mode: 'ok' }, { env: { CUSTOM: 'from-spec' } }));
    process.env.TEMPORAL_API_KEY = 'secret-for-test';
    const result = await backend.train(req, ctx).finally(() => delete process.env.TEMPORAL_API_KEY);
    assert.equal(result.format, 'retrain-linear/v1');
    assert.deepEqual(result.metrics, { accuracy: 0.8, roc_auc: 0.85, log_loss: 0.4 });
    assert.deepEqual(progress.map((p) => p.fraction), [0.25, 0.5, 0.75, 1]);
    assert.equal(progress[3].message, 'epoch 4/4');
    assert.deepEqual(progress[0].metrics, { loss: 0.75 });
    assert.ok(result.logTail.includes('trainer stderr: all good'));
    assert.ok(Math.abs(result.costUsd - (result.wallMs / 3_600_000) * 3.6) < 1e-12);
    const model = await loadModel(result.artifactUri);
    assert.equal(model.task, 'binary_classification');
    await model.close();

    const env = JSON.parse(await readFile(path.join(req.outputDir, 'env.json'), 'utf8'));
    assert.deepEqual(env, { temporal: [], custom: 'from-spec', runId: req.runId }, 'Temporal credentials are not passed to trainers');
    const contract = JSON.parse(await readFile(path.join(req.outputDir, 'request.json'), 'utf8'));
    assert.equal(contract.trainPath, path.join(datasetDir, 'train.parquet'));
    assert.equal(contract.label.name, 'is_fraud');
    assert.deepEqual(contract.params, { mode: 'ok' });
  });

  test("a trainer gets an allowlisted environment, never the product's secrets, and its stderr in a failure is redacted and bounded", async () => {
    const secrets = { RETRAIN_ADMIN_TOKEN: 'admin-token-0123456789', RETRAIN_PAYLOAD_KEY: 'cGF5bG9hZC1rZXktYmFzZTY0LXZhbHVl', AWS_SECRET_ACCESS_KEY: 'aws-secret-abcdefgh' };
    Object.assign(process.env, secrets);
    const req = request(spec({ mode: 'leak-env' }, { env: { API_TOKEN: 'declared-token-xyz123' } }));
    try {
      await rejectsWith(backend.train(req, recordingContext().ctx), (err) => {
        const text = `${err.message}\n${err.logTail.join('\n')}`;
        for (const [name, value] of Object.entries(secrets)) {
          assert.ok(!text.includes(value), `${name}'s value reached the failure`);
          assert.ok(!text.includes(name), `${name} was in the trainer's environment`);
        }
        assert.ok(err.logTail.some((l) => l.startsWith('PATH=')), 'PATH is inherited');
        assert.ok(err.logTail.includes('API_TOKEN=[redacted API_TOKEN]'), 'a declared secret reaches the trainer but not the failure');
        assert.ok(err.logTail.includes('sent Authorization: Bearer [redacted]'));
        assert.ok(err.logTail.join('\n').length <= 8_000 && err.logTail.length <= 40);
      });
    } finally {
      for (const name of Object.keys(secrets)) delete process.env[name];
    }
  });

  test('redactedTail keeps the newest lines within its bounds', () => {
    const long = Array.from({ length: 100 }, (_, i) => `${i} ${'x'.repeat(900)}`);
    const tail = redactedTail(long, []);
    assert.equal(tail.at(-1)?.slice(0, 3), '99 ');
    assert.ok(tail.every((l) => l.length <= 501));
    assert.ok(tail.join('').length <= 8_000 && tail.length >= 10);
  });

  test('cost.json overrides the hourly estimate', async () => {
    const result = await backend.train(request(spec({ mode: 'ok', cost: 12.5 })), recordingContext().ctx);
    assert.equal(result.costUsd, 12.5);
  });

  test('non-zero exit: clear message with the exit code and the last 40 stderr lines', async () => {
    await rejectsWith(backend.train(request(spec({ mode: 'fail' })), recordingContext().ctx), (err) => {
      assert.equal(err.kind, 'failed');
      assert.match(err.message, /exited with code 3: ValueError: the data is bad/);
      assert.equal(err.logTail.length, 40);
      assert.equal(err.logTail.at(-1), 'ValueError: the data is bad');
      assert.equal(err.logTail[0], 'stderr line 22');
    });
  });

  test('timeout terminates the trainer', async () => {
    const started = Date.now();
    await rejectsWith(backend.train(request(spec({ mode: 'sleep' }, { timeout: '700ms' })), recordingContext().ctx), (err) => {
      assert.equal(err.kind, 'timeout');
      assert.match(err.message, /timeout of 700ms/);
    });
    assert.ok(Date.now() - started < 10_000);
  });

  test('a trainer silent past heartbeatTimeout is hung: terminated, and retryable', async () => {
    const started = Date.now();
    await rejectsWith(backend.train(request(spec({ mode: 'sleep' }, { heartbeatTimeout: '600ms' })), recordingContext().ctx), (err) => {
      assert.equal(err.kind, 'hung');
      assert.equal(err.nonRetryable, false);
      assert.match(err.message, /printed nothing for 600ms \(trainer\.heartbeatTimeout\)/);
    }, true);
    assert.ok(Date.now() - started < 10_000);
  });

  test('killed by a signal (OOM killer, segfault) is a crash worth retrying; a non-zero exit is not', async () => {
    await rejectsWith(backend.train(request(spec({ mode: 'crash' })), recordingContext().ctx), (err) => {
      assert.equal(err.kind, 'crashed');
      assert.equal(err.nonRetryable, false);
      assert.match(err.message, /was killed by SIGKILL: Killed \(out of memory\)/);
    }, true);
    await rejectsWith(backend.train(request(spec({ mode: 'fail' })), recordingContext().ctx), (err) => assert.equal(err.nonRetryable, true));
  });

  test('missing output: exit 0 without a model', async () => {
    await rejectsWith(backend.train(request(spec({ mode: 'no-output' })), recordingContext().ctx), (err) => {
      assert.equal(err.kind, 'missing_output');
      assert.match(err.message, /neither model\.json nor model\.onnx/);
    });
  });

  test('metrics missing a required key for the task', async () => {
    await rejectsWith(backend.train(request(spec({ mode: 'missing-metric' })), recordingContext().ctx), (err) => {
      assert.equal(err.kind, 'invalid_output');
      assert.match(err.message, /missing required metric\(s\) roc_auc for binary_classification/);
    });
    const regression = regressionSpec({ backend: 'command', command: [process.execPath, trainerScript], params: { mode: 'missing-metric' } });
    await rejectsWith(backend.train(request(regression), recordingContext().ctx), (err) => {
      assert.match(err.message, /missing required metric\(s\) mae for regression/);
    });
  });

  test('a model the gateway could not load is refused', async () => {
    await rejectsWith(backend.train(request(spec({ mode: 'bad-model' })), recordingContext().ctx), (err) => {
      assert.equal(err.kind, 'invalid_output');
      assert.match(err.message, /unusable model: .*expected \d+ weights/);
    });
  });

  test('a command that does not exist', async () => {
    await rejectsWith(backend.train(request(spec({}, { command: ['/nonexistent/trainer-binary'] })), recordingContext().ctx), (err) => {
      assert.equal(err.kind, 'failed');
      assert.match(err.message, /cannot start trainer .*ENOENT/);
    });
  });

  test('cancellation kills the whole process group, grandchildren included', async () => {
    const pidFile = path.join(root.dir, 'pids.json');
    const controller = new AbortController();
    const ctx = { signal: controller.signal, onProgress: () => controller.abort() };
    await rejectsWith(backend.train(request(spec({ mode: 'grandchild', pidFile })), ctx), (err) => assert.equal(err.kind, 'aborted'));
    const pids = JSON.parse(await readFile(pidFile, 'utf8')) as number[];
    assert.equal(pids.length, 2);
    const deadline = Date.now() + 5_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(pids.filter(alive), [], 'child and grandchild are gone');
  });

  test('an already-aborted signal never starts the trainer', async () => {
    const controller = new AbortController();
    controller.abort();
    await rejectsWith(backend.train(request(spec({ mode: 'ok' })), { signal: controller.signal, onProgress: () => undefined }), (err) => assert.equal(err.kind, 'aborted'));
  });
});

test('parseProgress accepts contract lines only', () => {
  assert.deepEqual(parseProgress('{"progress": 0.4, "message": "epoch 4/10"}'), { fraction: 0.4, message: 'epoch 4/10' });
  assert.deepEqual(parseProgress('{"progress": 2, "metrics": {"auc": 0.9, "bad": "x"}}'), { fraction: 1, message: '', metrics: { auc: 0.9 } });
  assert.equal(parseProgress('epoch 4/10'), undefined);
  assert.equal(parseProgress('{"progress": "half"}'), undefined);
  assert.equal(parseProgress('{"loss": 0.3}'), undefined);
});
