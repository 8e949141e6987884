import type { Command } from 'commander';
import { DRIFT_KINDS, type DriftKind } from '../../demo/simulator/drift.js';
import { requireModel } from '../models.js';
import { configOption } from '../options.js';
import { onShutdownSignal } from '../shutdown.js';

interface SimulateOptions {
  rate: string;
  duration: string;
  drift: string;
  driftStart: string;
  driftWindow: string;
  driftPeriod: string;
  driftFeatures?: string;
  labelDelay: string;
  conceptChange?: boolean;
  contradictChallenger?: boolean;
  gateway: string;
  seed: string;
  concurrency: string;
  history?: string;
  rowsPerDay: string;
}

/** `retrain simulate <model>`: traffic with drift and delayed labels against a gateway, or (--history) a labelled training set in the lake. */
export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate <model>')
    .description('send realistic traffic with scripted drift and delayed labels to the gateway (or write a training history with --history)')
    .option('--rate <n>', 'requests per second', '50')
    .option('--duration <d>', 'how long to send, e.g. 10m', '10m')
    .option('--drift <kind>', `drift shape: ${DRIFT_KINDS.join(', ')}`, 'none')
    .option('--drift-start <d>', 'when drift begins, from the start', '3m')
    .option('--drift-window <d>', 'gradual: length of the ramp', '3m')
    .option('--drift-period <d>', 'recurring: length of one cycle', '2m')
    .option('--drift-features <names>', 'comma-separated features to drift (default: the generator\'s set)')
    .option('--label-delay <d>', 'delay before a prediction\'s label is sent to /feedback', '30s')
    .option('--concept-change', 'the label function changes as drift sets in (concept drift)')
    .option('--contradict-challenger', 'labels contradict every challenger answer: watch a canary breach and the automatic rollback')
    .option('--gateway <url>', 'gateway base URL', 'http://127.0.0.1:8080')
    .option('--seed <n>', 'random seed (same seed, same data)', '1')
    .option('--concurrency <n>', 'maximum requests in flight', '64')
    .option('--history <days>', 'instead of traffic: append N days of labelled history to the lake\'s training table')
    .option('--rows-per-day <n>', 'with --history: rows per day', '2000')
    .action(async (modelName: string, opts: SimulateOptions) => {
      // An unknown model is refused before the heavy modules load.
      const options = configOption(program);
      const { spec } = await requireModel(options, modelName);
      // Loaded on use, not at every start (see main.ts).
      const { LakeDataBackend } = await import('../../backends/data/lake/backend.js');
      const { ConfigError } = await import('../../config/load.js');
      const { runtimeSettings } = await import('../../config/settings.js');
      const { createGenerator, driftPlan, formatProgress, runSimulation, writeHistory } = await import('../../demo/simulator/index.js');
      const { emit } = await import('../output.js');
      const { duration, number, int } = await flagParsers();
      const seed = int(opts.seed, '--seed', -(2 ** 31), 2 ** 32);

      if (opts.history !== undefined) {
        const days = int(opts.history, '--history', 1, 3650);
        const rowsPerDay = int(opts.rowsPerDay, '--rows-per-day', 1, 1_000_000);
        const settings = runtimeSettings();
        const data = new LakeDataBackend({ dataDir: settings.dataDir });
        try {
          const result = await writeHistory(data, spec, { days, rowsPerDay, seed });
          const summary = { model: spec.name, rows: result.rowsWritten, positives: result.positives, days, partitions: result.partitions.length, lake: settings.dataDir };
          emit(options, summary, () => `wrote ${summary.rows} labelled rows (${summary.positives} positive) over ${days} days to the ${spec.name} training table in ${settings.dataDir}`);
        } finally {
          await data.close();
        }
        return;
      }

      if (!(DRIFT_KINDS as readonly string[]).includes(opts.drift)) throw new ConfigError('--drift', [`expected one of ${DRIFT_KINDS.join(', ')}, got "${opts.drift}"`]);
      const rate = number(opts.rate, '--rate', 0.01, 100_000);
      const plan = driftPlan(opts.drift as DriftKind, duration(opts.driftStart, '--drift-start'), {
        windowMs: duration(opts.driftWindow, '--drift-window'),
        periodMs: duration(opts.driftPeriod, '--drift-period'),
        features: opts.driftFeatures?.split(',').map((f) => f.trim()).filter(Boolean),
      });
      const unknown = (plan.features ?? []).filter((f) => !spec.features.some((s) => s.name === f));
      if (unknown.length) throw new ConfigError('--drift-features', [`not features of ${spec.name}: ${unknown.join(', ')}`]);
      const generator = createGenerator(spec, { seed, drift: plan, conceptChange: Boolean(opts.conceptChange) });

      // Ctrl-C ends the traffic early and the summary is still printed; a second one exits at once.
      const abort = new AbortController();
      const offSignal = onShutdownSignal(() => abort.abort(), { exit: false });
      const tty = Boolean(process.stderr.isTTY) && !options.json;
      try {
        const summary = await runSimulation({
          gateway: opts.gateway,
          model: spec.name,
          generator,
          drift: plan,
          rate,
          durationMs: duration(opts.duration, '--duration'),
          labelDelayMs: duration(opts.labelDelay, '--label-delay', true),
          concurrency: int(opts.concurrency, '--concurrency', 1, 10_000),
          signal: abort.signal,
          contradict: opts.contradictChallenger ? 'challenger' : undefined,
          onProgress: tty ? (p) => process.stderr.write(`\r\x1b[2K${formatProgress(p)}`) : undefined,
        });
        if (tty) process.stderr.write('\n');
        emit(options, summary, () =>
          [
            `${summary.aborted ? 'stopped' : 'done'}: ${summary.sent} sent at ${summary.achievedRate}/s, ${summary.ok} ok, ${summary.errors} errors${summary.skipped ? `, ${summary.skipped} skipped (concurrency limit)` : ''}`,
            `latency p50 ${summary.latencyMs.p50}ms p99 ${summary.latencyMs.p99}ms; variants ${JSON.stringify(summary.variants)}`,
            `labels sent ${summary.labels.sent} (matched ${summary.labels.matched}, unmatched ${summary.labels.unmatched}, failed ${summary.labels.failed}); accuracy of served predictions ${summary.accuracy ?? 'n/a'}`,
            ...(summary.lastError ? [`last error: ${summary.lastError}`] : []),
          ].join('\n'),
        );
        if (summary.ok === 0 && summary.sent > 0) process.exitCode = 1;
      } finally {
        offSignal();
      }
    });
}

/** The flag parsers; what they use (zod, the config loader) is loaded on use, like the action's modules. */
async function flagParsers() {
  const { durationMs } = await import('../../config/duration.js');
  const { ConfigError } = await import('../../config/load.js');

  function duration(value: string, flag: string, allowZero = false): number {
    if (allowZero && /^0+(ms|s|m|h|d|w)?$/.test(value.trim())) return 0;
    try {
      return durationMs(value);
    } catch {
      throw new ConfigError(flag, [`expected a duration such as 30s, 10m or 1h, got "${value}"`]);
    }
  }

  function number(value: string, flag: string, min: number, max: number): number {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(flag, [`expected a number from ${min} to ${max}, got "${value}"`]);
    return n;
  }

  function int(value: string, flag: string, min: number, max: number): number {
    const n = number(value, flag, min, max);
    if (!Number.isInteger(n)) throw new ConfigError(flag, [`expected a whole number, got "${value}"`]);
    return n;
  }

  return { duration, number, int };
}
