import { createHash } from 'node:crypto';
import path from 'node:path';
import { durationMs } from '../../config/duration.js';
import type { TrainerSpec } from '../../config/schema.js';
import { logger } from '../../runtime/logger.js';
import { parseProgress, redactedTail } from './command.js';
import { readTrainerOutputs } from './command-output.js';
import { writeTrainerRequest } from './contract.js';
import { LineSplitter, TailBuffer } from './process-group.js';
import { type RayJobInfo, RayJobsClient, RayRequestError, RayUnavailableError, TERMINAL_STATUSES } from './ray-client.js';
import { costOf, type TrainContext, type TrainingBackend, TrainingError, type TrainRequest, type TrainResult } from './types.js';

type RayTrainer = Extract<TrainerSpec, { backend: 'ray' }>;

export interface RayBackendOptions {
  /** Where RETRAIN_RAY_ADDRESS is read when the spec has no `address` (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** How often the job's status and log are read (default 1 s). */
  pollMs?: number;
  /** How long to wait for Ray to report a stopped job as stopped (default 30 s). */
  stopWaitMs?: number;
}

/** Submissions of one run that ended without a result before this backend gives up on the run. */
const MAX_SUBMISSIONS = 20;

/**
 * Trains on a Ray cluster through the Ray Jobs REST API, under the same JSON contract as the
 * command backend (docs/trainer-contract.md): the trainer command becomes the job's entrypoint,
 * request.json is written into the output directory, the job's log carries the progress lines,
 * and the outputs are read from the output directory when the job succeeds. The paths in the
 * contract are this worker's: Ray must see them (same host, or a shared filesystem mounted at the
 * same paths).
 *
 * Submission ids are derived from the run id (`retrain-<model>-<hash>-<n>`), so a retried
 * activity re-attaches to the run's job while that job is pending, running or has succeeded (a
 * worker that died mid-training costs no second training), and submits the next one only after
 * that job failed or was stopped.
 *
 * A job that is lost (Ray no longer knows it, its supervisor died, the dashboard stopped
 * answering) or silent for heartbeatTimeout (hung: stopped here) is a retryable TrainingError;
 * the trainer's own non-zero exit is not (it would fail again on the same data).
 */
export class RayJobsTrainingBackend implements TrainingBackend {
  readonly name = 'ray';
  private readonly env: NodeJS.ProcessEnv;
  private readonly pollMs: number;
  private readonly stopWaitMs: number;

  constructor(options: RayBackendOptions = {}) {
    this.env = options.env ?? process.env;
    this.pollMs = options.pollMs ?? 1_000;
    this.stopWaitMs = options.stopWaitMs ?? 30_000;
  }

  async train(request: TrainRequest, ctx: TrainContext): Promise<TrainResult> {
    const { spec } = request;
    const trainer = spec.trainer;
    if (trainer.backend !== 'ray') throw new TrainingError('bad_input', `model ${spec.name}: trainer.backend is ${trainer.backend}, not ray`);
    if (ctx.signal.aborted) throw new TrainingError('aborted', `training ${request.runId} was cancelled before it started`);
    const client = new RayJobsClient(rayAddress(spec.name, trainer, this.env));
    const log = logger().child({ model: spec.name, runId: request.runId, trainer: 'ray', ray: client.address });

    const job = await this.attachOrSubmit(client, request, trainer, ctx.signal);
    log.info({ submissionId: job.submissionId, attached: job.attached, outputDir: job.outputDir }, job.attached ? 'attached to the Ray job of this run' : 'submitted a Ray job');
    const followed = await this.follow(client, job.submissionId, trainer, ctx, log);
    const logTail = redactedTail(followed.tail, [process.env, trainer.env]);
    const info = followed.info;
    const wallMs = info.start_time && info.end_time ? info.end_time - info.start_time : followed.wallMs;
    const ended = judgeEndedJob(info, trainer, logTail);
    if (ended) throw ended;

    const outputs = await readTrainerOutputs(job.outputDir, spec, logTail);
    log.info({ submissionId: job.submissionId, wallMs, format: outputs.format }, 'Ray job finished');
    return {
      artifactUri: outputs.artifactUri,
      format: outputs.format,
      metrics: outputs.metrics,
      costUsd: outputs.costUsd ?? costOf(wallMs, trainer.costPerHour),
      wallMs,
      logTail,
    };
  }

  /** The run's live or succeeded job, else a new submission with the next free id. */
  private async attachOrSubmit(client: RayJobsClient, request: TrainRequest, trainer: RayTrainer, signal: AbortSignal): Promise<{ submissionId: string; outputDir: string; attached: boolean }> {
    const base = submissionBase(request.spec.name, request.runId);
    for (let n = 1; n <= MAX_SUBMISSIONS; n++) {
      const submissionId = `${base}-${n}`;
      const existing = await rayCall(client, trainer, signal, () => client.job(submissionId));
      if (existing) {
        if (existing.status === 'STOPPED' || existing.status === 'FAILED') continue; // over without a result: the next id
        return { submissionId, outputDir: outputDirOf(existing, request.runId), attached: true };
      }
      const { requestPath, outputDir } = await writeTrainerRequest(request, trainer.params);
      const outcome = await rayCall(client, trainer, signal, () =>
        client.submit({
          submission_id: submissionId,
          entrypoint: entrypointOf(trainer, requestPath),
          runtime_env: {
            env_vars: { ...trainer.env, RETRAIN_RUN_ID: request.runId, RETRAIN_REQUEST: requestPath },
            ...(trainer.workingDir ? { working_dir: trainer.workingDir } : {}),
          },
          metadata: { retrain_model: request.spec.name, retrain_run_id: request.runId, retrain_output_dir: outputDir },
          ...(trainer.numCpus !== undefined ? { entrypoint_num_cpus: trainer.numCpus } : {}),
          ...(trainer.numGpus !== undefined ? { entrypoint_num_gpus: trainer.numGpus } : {}),
        }),
      );
      if (outcome === 'submitted') return { submissionId, outputDir, attached: false };
      // Another attempt submitted this id between our look and our submit: follow its job.
      const raced = await rayCall(client, trainer, signal, () => client.job(submissionId));
      if (!raced) throw new TrainingError('lost', `Ray job ${submissionId} was reported as existing, then not found`, { nonRetryable: false });
      return { submissionId, outputDir: outputDirOf(raced, request.runId), attached: true };
    }
    throw new TrainingError('failed', `run ${request.runId} already has ${MAX_SUBMISSIONS} Ray jobs that ended without a result (${base}-1 … -${MAX_SUBMISSIONS}); not submitting another`);
  }

  /**
   * Reads the job's status and log until it ends: progress lines become onProgress, silence past
   * heartbeatTimeout is a hang, an abort or the timeout stops the job.
   */
  private async follow(client: RayJobsClient, submissionId: string, trainer: RayTrainer, ctx: TrainContext, log: ReturnType<typeof logger>): Promise<{ info: RayJobInfo; tail: string[]; wallMs: number }> {
    const started = performance.now();
    const silenceLimitMs = durationMs(trainer.heartbeatTimeout);
    const timeoutMs = durationMs(trainer.timeout);
    const tail = new TailBuffer(40);
    let lastSignOfLife = performance.now();
    let running = false;
    let logOffset = 0;
    let unreachableSince: number | undefined;
    const lines = new LineSplitter((line) => {
      lastSignOfLife = performance.now();
      const progress = parseProgress(line);
      if (progress) {
        try {
          ctx.onProgress(progress);
        } catch {
          /* a failing progress callback must not kill the run */
        }
      } else if (line.trim()) {
        tail.push(line);
        log.debug({ stream: 'ray-job-log' }, line);
      }
    });
    const stopped = async (kind: 'aborted' | 'hung' | 'timeout', reason: string): Promise<never> => {
      const how = await this.stopJob(client, submissionId);
      lines.end();
      throw new TrainingError(kind, `${reason}; ${how}`, { logTail: redactedTail(tail.get(), [process.env, trainer.env]), nonRetryable: kind !== 'hung' });
    };

    for (;;) {
      if (ctx.signal.aborted) await stopped('aborted', `training was cancelled`);
      let info: RayJobInfo | undefined;
      try {
        info = await client.job(submissionId);
        if (info) {
          const text = await client.logs(submissionId);
          if (text !== undefined) {
            if (text.length < logOffset) logOffset = 0; // a log that restarted (the job's driver restarted)
            lines.push(Buffer.from(text.slice(logOffset)));
            logOffset = text.length;
          }
        }
        unreachableSince = undefined;
      } catch (err) {
        if (!(err instanceof RayUnavailableError)) throw asTrainingError(err, client, trainer);
        unreachableSince ??= performance.now();
        if (performance.now() - unreachableSince > silenceLimitMs) {
          throw new TrainingError('lost', `the Ray dashboard at ${client.address} has not answered for ${trainer.heartbeatTimeout} (trainer.heartbeatTimeout) while following job ${submissionId}: ${err.message}`, { logTail: redactedTail(tail.get(), [process.env, trainer.env]), nonRetryable: false });
        }
      }
      if (unreachableSince === undefined) {
        if (!info) {
          lines.end();
          throw new TrainingError('lost', `Ray at ${client.address} no longer knows job ${submissionId} (was the head restarted?); the next attempt submits it again`, { logTail: redactedTail(tail.get(), [process.env, trainer.env]), nonRetryable: false });
        }
        if (TERMINAL_STATUSES.includes(info.status)) {
          lines.end();
          return { info, tail: tail.get(), wallMs: performance.now() - started };
        }
        // The silence clock starts when the entrypoint runs: waiting for a node is not a hang.
        if (info.status === 'RUNNING' && !running) {
          running = true;
          lastSignOfLife = performance.now();
        }
        // Judged on a log just read: while the dashboard does not answer, silence says nothing.
        if (running && performance.now() - lastSignOfLife > silenceLimitMs) {
          await stopped('hung', `the Ray job ${submissionId} printed nothing for ${trainer.heartbeatTimeout} (trainer.heartbeatTimeout); it is considered hung`);
        }
      }
      if (performance.now() - started > timeoutMs) await stopped('timeout', `the Ray job ${submissionId} exceeded its timeout of ${trainer.timeout}`);
      await pause(this.pollMs, ctx.signal);
    }
  }

  /** Asks Ray to stop the job and waits until Ray reports it ended; says what happened. */
  private async stopJob(client: RayJobsClient, submissionId: string): Promise<string> {
    try {
      await client.stop(submissionId);
      const deadline = performance.now() + this.stopWaitMs;
      for (;;) {
        const info = await client.job(submissionId);
        if (!info || TERMINAL_STATUSES.includes(info.status)) return `the Ray job ${submissionId} was stopped (Ray reports ${info?.status ?? 'it gone'})`;
        if (performance.now() > deadline) return `Ray was asked to stop job ${submissionId}, which is still ${info.status} after ${this.stopWaitMs / 1000} s`;
        await pause(200);
      }
    } catch (err) {
      return `stopping the Ray job ${submissionId} failed: ${(err as Error).message}`;
    }
  }
}

/** The dashboard URL from the spec, else RETRAIN_RAY_ADDRESS; a missing or malformed one is bad input naming where it came from. */
export function rayAddress(model: string, trainer: RayTrainer, env: NodeJS.ProcessEnv): string {
  if (trainer.address) return trainer.address;
  const fromEnv = env.RETRAIN_RAY_ADDRESS?.trim();
  if (!fromEnv) throw new TrainingError('bad_input', `model ${model}: trainer.backend is ray but neither trainer.address nor RETRAIN_RAY_ADDRESS names the Ray dashboard (e.g. http://ray-head:8265)`);
  if (!/^https?:\/\/[^/\s]+/.test(fromEnv)) throw new TrainingError('bad_input', `RETRAIN_RAY_ADDRESS: expected the Ray dashboard URL, e.g. http://ray-head:8265 (got ${JSON.stringify(fromEnv)})`);
  return fromEnv;
}

/** `retrain-<model>-<12 hex of sha256(run id)>`: readable in Ray's UI, and the same for every attempt of a run. */
export function submissionBase(model: string, runId: string): string {
  return `retrain-${model}-${createHash('sha256').update(runId).digest('hex').slice(0, 12)}`;
}

/** The shell command Ray runs (it runs the entrypoint with a shell): the argv quoted, the request path appended. */
export function entrypointOf(trainer: RayTrainer, requestPath: string): string {
  const argv = [...trainer.command, requestPath].map(shellQuote).join(' ');
  return trainer.cwd ? `cd ${shellQuote(path.resolve(trainer.cwd))} && exec ${argv}` : `exec ${argv}`;
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function outputDirOf(job: RayJobInfo, runId: string): string {
  const meta = job.metadata ?? {};
  if (meta.retrain_run_id !== runId || !meta.retrain_output_dir) {
    throw new TrainingError('failed', `Ray job ${job.submission_id} was not submitted by retrain for run ${runId} (its metadata: ${JSON.stringify(meta)}); not attaching to it`);
  }
  return meta.retrain_output_dir;
}

/**
 * A job that ended without success, as a TrainingError; undefined when it succeeded.
 * The trainer's own non-zero exit is final; a signal, a dead supervisor or an unknown failure is
 * worth another attempt, like a hung trainer.
 */
export function judgeEndedJob(info: RayJobInfo, trainer: RayTrainer, logTail: string[]): TrainingError | undefined {
  const id = info.submission_id;
  const rayMessage = (info.message ?? '').split('\n')[0].slice(0, 300);
  if (info.status === 'SUCCEEDED') return undefined;
  if (info.status === 'STOPPED') return new TrainingError('aborted', `the Ray job ${id} was stopped outside retrain (${rayMessage || 'no message'})`, { logTail });
  const last = logTail.filter((l) => l.trim()).at(-1);
  const code = info.driver_exit_code;
  switch (info.error_type) {
    case 'JOB_ENTRYPOINT_COMMAND_ERROR':
      // Negative: killed by that signal (the OOM killer, a preempted node), worth another attempt.
      if (code !== null && code < 0) return new TrainingError('crashed', `trainer ${JSON.stringify(trainer.command)} (Ray job ${id}) was killed by signal ${-code}${last ? `: ${last}` : ''}`, { logTail, nonRetryable: false });
      return new TrainingError('failed', `trainer ${JSON.stringify(trainer.command)} (Ray job ${id}) exited with code ${code ?? '?'}${last ? `: ${last}` : ''}`, { logTail });
    case 'JOB_ENTRYPOINT_COMMAND_START_ERROR':
    case 'RUNTIME_ENV_SETUP_FAILURE':
    case 'JOB_SUPERVISOR_ACTOR_START_FAILURE':
      return new TrainingError('failed', `Ray could not start job ${id} (${info.error_type}): ${lastLineOf(info.message)}`, { logTail });
    default:
      return new TrainingError('lost', `the Ray job ${id} failed with no result (${info.error_type ?? 'no error type'}: ${rayMessage || 'no message'}); the next attempt submits it again`, { logTail, nonRetryable: false });
  }
}

function lastLineOf(text: string | null): string {
  return (text ?? '').split('\n').map((l) => l.trim()).filter(Boolean).at(-1)?.slice(0, 500) ?? 'no message';
}

/**
 * A Ray call at submit time, tried again each second while the dashboard does not answer or
 * answers 5xx (a head just started answers "No available agent to submit job" for a while), for up
 * to heartbeatTimeout; then it is `lost` (retryable). A refused request (4xx) is final at once.
 */
async function rayCall<T>(client: RayJobsClient, trainer: RayTrainer, signal: AbortSignal, call: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + durationMs(trainer.heartbeatTimeout);
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof RayUnavailableError) || performance.now() > deadline) throw asTrainingError(err, client, trainer);
    }
    if (signal.aborted) throw new TrainingError('aborted', 'training was cancelled before its Ray job was submitted');
    await pause(1_000, signal);
  }
}

function asTrainingError(err: unknown, client: RayJobsClient, trainer: RayTrainer): TrainingError {
  if (err instanceof TrainingError) return err;
  if (err instanceof RayUnavailableError) return new TrainingError('lost', `cannot reach the Ray Jobs API at ${client.address} for ${trainer.heartbeatTimeout} (trainer.heartbeatTimeout): ${err.message}`, { nonRetryable: false, cause: err });
  if (err instanceof RayRequestError) return new TrainingError('failed', err.message, { cause: err });
  return new TrainingError('failed', `Ray Jobs API at ${client.address}: ${(err as Error).message}`, { cause: err });
}

/** Waits `ms`, or less when `signal` aborts (the poll loop then stops the job at once). */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
