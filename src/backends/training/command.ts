import { spawn } from 'node:child_process';
import path from 'node:path';
import { durationMs } from '../../config/duration.js';
import { logger } from '../../runtime/logger.js';
import { readTrainerOutputs } from './command-output.js';
import { writeTrainerRequest } from './contract.js';
import { LineSplitter, signalGroup, TailBuffer, terminateGroup } from './process-group.js';
import { costOf, type TrainContext, type TrainingBackend, TrainingError, type TrainProgress, type TrainRequest, type TrainResult } from './types.js';

export type { TrainerRequestFile } from './contract.js';

export interface CommandBackendOptions {
  /** Time between SIGTERM and SIGKILL when stopping a trainer (default 5 s). */
  killGraceMs?: number;
}

/**
 * Runs any trainer as a child process under the JSON contract in docs/trainer-contract.md.
 * The child is the leader of its own process group (`detached`), so timeout and cancellation
 * stop it together with everything it started. Every failure is a non-retryable TrainingError
 * carrying the last 40 lines of stderr: re-running the same command on the same data fails again.
 */
export class CommandTrainingBackend implements TrainingBackend {
  readonly name = 'command';
  private readonly killGraceMs: number;

  constructor(options: CommandBackendOptions = {}) {
    this.killGraceMs = options.killGraceMs ?? 5_000;
  }

  async train(request: TrainRequest, ctx: TrainContext): Promise<TrainResult> {
    const { spec } = request;
    const trainer = spec.trainer;
    if (trainer.backend !== 'command') throw new TrainingError('bad_input', `model ${spec.name}: trainer.backend is ${trainer.backend}, not command`);
    if (ctx.signal.aborted) throw new TrainingError('aborted', `training ${request.runId} was cancelled before it started`);

    const { requestPath, outputDir } = await writeTrainerRequest(request, trainer.params);

    const log = logger().child({ model: spec.name, runId: request.runId, trainer: 'command' });
    const stderrTail = new TailBuffer(40);
    const [command, ...args] = trainer.command;
    const started = performance.now();
    const child = spawn(command, [...args, requestPath], {
      cwd: trainer.cwd ? path.resolve(trainer.cwd) : process.cwd(),
      env: { ...trainerEnvironment(process.env), ...trainer.env, RETRAIN_RUN_ID: request.runId, RETRAIN_REQUEST: requestPath },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });

    // Any line from the trainer is a sign of life; silence past heartbeatTimeout means it hung.
    let lastSignOfLife = performance.now();
    const stdout = new LineSplitter((line) => {
      lastSignOfLife = performance.now();
      const progress = parseProgress(line);
      if (progress) {
        try {
          ctx.onProgress(progress);
        } catch {
          /* a failing progress callback must not kill the run */
        }
      } else if (line.trim()) {
        log.info({ stream: 'stdout' }, line);
      }
    });
    const stderr = new LineSplitter((line) => {
      lastSignOfLife = performance.now();
      stderrTail.push(line);
      log.debug({ stream: 'stderr' }, line);
    });
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));

    let stopReason: { kind: 'timeout' | 'aborted' | 'hung'; message: string } | undefined;
    const stop = (kind: 'timeout' | 'aborted' | 'hung', message: string) => {
      if (stopReason) return;
      stopReason = { kind, message };
      void terminateGroup(child, this.killGraceMs);
    };
    const onAbort = () => stop('aborted', `training ${request.runId} was cancelled; the trainer's process group was terminated`);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => stop('timeout', `trainer exceeded its timeout of ${trainer.timeout}; its process group was terminated`), durationMs(trainer.timeout));
    const silenceLimitMs = durationMs(trainer.heartbeatTimeout);
    const watchdog = setInterval(() => {
      if (performance.now() - lastSignOfLife > silenceLimitMs) stop('hung', `trainer printed nothing for ${trainer.heartbeatTimeout} (trainer.heartbeatTimeout); it is considered hung and its process group was terminated`);
    }, Math.min(1_000, silenceLimitMs / 4));

    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
      child.once('error', (err) => resolve({ code: null, signal: null, spawnError: err }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    clearTimeout(timer);
    clearInterval(watchdog);
    ctx.signal.removeEventListener('abort', onAbort);
    // Whatever the trainer left behind in its group (background helpers holding our pipes open)
    // goes with it; then wait briefly for the pipes to drain.
    signalGroup(child.pid, 'SIGKILL');
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    stdout.end();
    stderr.end();

    const wallMs = performance.now() - started;
    const logTail = redactedTail(stderrTail.get(), [process.env, trainer.env]);
    // A hung trainer may run fine next time (a stuck download, a dead GPU): Temporal retries it.
    if (stopReason) throw new TrainingError(stopReason.kind, stopReason.message, { logTail, nonRetryable: stopReason.kind !== 'hung' });
    if (exit.spawnError) {
      throw new TrainingError('failed', `cannot start trainer ${JSON.stringify(trainer.command)}: ${exit.spawnError.message}`, { logTail, cause: exit.spawnError });
    }
    if (exit.code !== 0) {
      const last = logTail.filter((l) => l.trim()).at(-1);
      // Killed by a signal (the OOM killer, a segfault, a preempted node) is worth another attempt;
      // a non-zero exit is the trainer's own verdict (bad data, a bug) and would only repeat.
      if (exit.signal) throw new TrainingError('crashed', `trainer ${JSON.stringify(trainer.command)} was killed by ${exit.signal}${last ? `: ${last}` : ''}`, { logTail, nonRetryable: false });
      throw new TrainingError('failed', `trainer ${JSON.stringify(trainer.command)} exited with code ${exit.code}${last ? `: ${last}` : ''}`, { logTail });
    }

    const outputs = await readTrainerOutputs(outputDir, spec, logTail);
    log.info({ wallMs: Math.round(wallMs), format: outputs.format }, 'command trainer finished');
    return {
      artifactUri: outputs.artifactUri,
      format: outputs.format,
      metrics: outputs.metrics,
      costUsd: outputs.costUsd ?? costOf(wallMs, trainer.costPerHour),
      wallMs,
      logTail,
    };
  }
}

/** Variables a trainer may inherit from the worker: where programs and libraries are, locale, threads, GPUs. */
const INHERITED = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TEMP', 'TMP', 'SYSTEMROOT', 'LD_LIBRARY_PATH', 'PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV', 'CONDA_PREFIX', 'JAVA_HOME']);
const INHERITED_PREFIXES = ['LC_', 'OMP_', 'MKL_', 'OPENBLAS_', 'CUDA_', 'NVIDIA_'];

/**
 * An allowlist of the worker's environment: a trainer is third-party code and gets nothing it
 * does not need, least of all the product's secrets (payload key, admin token, Temporal
 * credentials). What a trainer needs beyond this is declared in its `trainer.env`.
 */
export function trainerEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => INHERITED.has(key) || INHERITED_PREFIXES.some((p) => key.startsWith(p))));
}

const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH/i;
/** What a failure message may carry of a trainer's stderr: it lands in workflow histories and the UI. */
const MAX_TAIL_LINES = 40;
const MAX_TAIL_LINE = 500;
const MAX_TAIL_CHARS = 8_000;

/**
 * The stderr tail as it may appear in a failure: bounded, and with the value of every secret-looking
 * variable (of the worker's and the trainer's environment) and bearer tokens replaced by a marker.
 */
export function redactedTail(lines: string[], envs: Array<Record<string, string | undefined>>): string[] {
  const secrets = envs
    .flatMap((e) => Object.entries(e))
    .filter((entry): entry is [string, string] => SECRET_NAME.test(entry[0]) && typeof entry[1] === 'string' && entry[1].length >= 6)
    .sort((a, b) => b[1].length - a[1].length);
  const out: string[] = [];
  let total = 0;
  for (const raw of lines.slice(-MAX_TAIL_LINES).reverse()) {
    let line = raw.replace(/(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, '$1[redacted]');
    for (const [name, value] of secrets) line = line.split(value).join(`[redacted ${name}]`);
    if (line.length > MAX_TAIL_LINE) line = `${line.slice(0, MAX_TAIL_LINE)}…`;
    if (total + line.length > MAX_TAIL_CHARS) break;
    total += line.length;
    out.unshift(line);
  }
  return out;
}

/** A stdout line `{"progress": 0.4, "message": "...", "metrics": {...}}`, or undefined for any other line. */
export function parseProgress(line: string): TrainProgress | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{') || !trimmed.includes('"progress"')) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  const { progress, message, metrics } = json as { progress?: unknown; message?: unknown; metrics?: unknown };
  if (typeof progress !== 'number' || !Number.isFinite(progress)) return undefined;
  const out: TrainProgress = { fraction: Math.min(1, Math.max(0, progress)), message: typeof message === 'string' ? message : '' };
  if (metrics && typeof metrics === 'object' && !Array.isArray(metrics)) {
    const numeric = Object.entries(metrics).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]));
    if (numeric.length > 0) out.metrics = Object.fromEntries(numeric);
  }
  return out;
}
