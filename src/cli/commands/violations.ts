import path from 'node:path';
import type { Command } from 'commander';
import type { ViolationSummary } from '../../backends/registry/queries.js';
import type { Violation } from '../../backends/registry/types.js';
import { configOption } from '../options.js';

const DAY_MS = 86_400_000;

/**
 * --since: a duration back from now ("30d": the last 30 UTC days, today included, so a recurrence
 * never reads "31 of the last 30 days"; "12h": exactly 12 hours) or a time such as 2026-03-01.
 */
async function parseSince(value: string, now: Date): Promise<Date> {
  const { durationMs } = await import('../../config/duration.js');
  const { lastDays } = await import('../../backends/registry/queries.js');
  const { ConfigError } = await import('../../config/load.js');
  let ms: number | undefined;
  try {
    ms = durationMs(value);
  } catch {
    // not a duration: a time, below
  }
  if (ms !== undefined && ms > 0) return ms % DAY_MS === 0 ? lastDays(now, ms / DAY_MS) : new Date(now.getTime() - ms);
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new ConfigError('--since', [`"${value}": expected a duration such as 30d or 12h, or a time such as 2026-03-01 or 2026-03-01T12:00:00Z`]);
  if (at.getTime() > now.getTime()) throw new ConfigError('--since', [`${at.toISOString()} is in the future (now is ${now.toISOString()})`]);
  return at;
}

/** 0.412, 0.15, 3.2e-12: three significant digits, p-values readable. */
const num = (x: number) => String(Number(x.toPrecision(3)));

/** "psi 0.412 > 0.15" for distances, "ks 3.2e-12 < 0.01" for p-values: the side that is drift. */
const rule = (v: Violation) => `${v.statistic} ${num(v.score)} ${v.statistic === 'ks' || v.statistic === 'chi_square' ? '<' : '>'} ${num(v.threshold)}`;

/**
 * `retrain violations <model>`: the drift violations the monitor's checks recorded in the registry,
 * newest first, with each feature's recurrence over the window ("drifted on 9 of the last 30 days").
 */
export function registerViolationsCommand(program: Command): void {
  program
    .command('violations <model>')
    .description("drift violations recorded by the monitor's checks, newest first, with how many days each feature drifted")
    .option('--feature <name>', 'only this feature')
    .option('--since <time>', 'a duration back from now (30d: the last 30 UTC days, today included) or a time such as 2026-03-01', '30d')
    .action(async (model: string, opts: { feature?: string; since: string }) => {
      // Loaded on use, not at every start (see main.ts).
      const { recurrenceText, violationSummary } = await import('../../backends/registry/queries.js');
      const { openRegistry } = await import('../../backends/registry/open.js');
      const { RegistryError } = await import('../../backends/registry/types.js');
      const { requireModel } = await import('../models.js');
      const { runtimeSettings } = await import('../../config/settings.js');
      const { emit, RefusedError } = await import('../output.js');
      const options = configOption(program);
      // An unknown model: the same message and exit code as every other command that takes one.
      await requireModel(options, model);
      const now = new Date();
      const since = await parseSince(opts.since, now);

      const registry = openRegistry(runtimeSettings());
      let summary: ViolationSummary;
      try {
        summary = violationSummary(registry, model, { since, until: now, feature: opts.feature });
      } catch (err) {
        if (err instanceof RegistryError) throw new RefusedError(err.message);
        throw err;
      } finally {
        registry.close();
      }

      const which = opts.feature ? ` of ${opts.feature}` : '';
      emit(options, summary, () => {
        if (summary.violations.length === 0) return `${model}: no drift violations${which} recorded since ${summary.since}`;
        const width = Math.max(...summary.recurrence.map((r) => r.feature.length));
        return [
          `${model}: ${summary.violations.length} drift violation${summary.violations.length === 1 ? '' : 's'}${which} since ${summary.since}`,
          ...summary.recurrence.map((r) => `  ${r.feature.padEnd(width)}  ${recurrenceText(r)} (${r.checks} check${r.checks === 1 ? '' : 's'}, ${r.statistics.join(', ')}; last ${r.lastAt})`),
          '',
          ...summary.violations.map((v) =>
            [
              `${v.checkedAt}  ${v.feature}  ${rule(v)}`,
              v.importanceShare === null ? '' : `  importance ${(100 * v.importanceShare).toFixed(0)}%`,
              v.championVersion === null ? '' : `  v${v.championVersion}`,
              `  ${v.decision.replace('_', ' ')}: ${v.decisionReason}`,
            ].join(''),
          ),
        ].join('\n');
      });
    });
}
