/** The in-process peer (child mode): the same checkModel calls without Temporal's orchestration. */
import { readFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { buildActivities, openBackends } from '../../src/activities/index.js';
import { parseConfig } from '../../src/config/load.js';
import { connectClient, temporalTarget } from '../../src/runtime/connection.js';
import { evaluateTriggers } from '../../src/drift/decisions/triggers.js';
import { logger, pool, settingsFor } from './common.js';
import { countOutcome, emptyOutcomes, type Outcomes } from './outcomes.js';

export interface DirectRound {
  /** False: the diagnosis variant, checkModel without its HTML report (see directChild). */
  reports: boolean;
  wallMs: number;
  /** Event-loop delay of the peer's main thread during the round (ms): what a workflow task would wait behind. */
  loopDelay: { p50: number; p99: number; max: number };
  durations: number[];
  errors: string[];
  outcomes: Outcomes;
}

export async function directChild(): Promise<void> {
  const dir = process.env.RETRAIN_DATA_DIR!;
  const config = parseConfig(readFileSync(process.env.RETRAIN_CONFIG!, 'utf8'), process.env.RETRAIN_CONFIG);
  const client = await connectClient(temporalTarget());
  const backends = openBackends({ config, settings: settingsFor(dir), logger, client });
  const { checkModel } = buildActivities(backends);
  // Diagnosis: the same activity without its HTML report. The report writer reads the model's
  // history under <settings.dataDir>/reports before rendering; pointed below a regular file, that
  // read fails, the writer logs a warning and skips the report, and the check itself (which uses
  // the already opened lake and registry) is unchanged. No product code is touched for this.
  const blocked = path.join(dir, 'reports-disabled');
  writeFileSync(blocked, 'a file, so <this>/reports cannot exist\n');
  const noReport = buildActivities({ ...backends, settings: { ...backends.settings, dataDir: blocked } }).checkModel;
  process.on('message', async (m: { type: 'round'; concurrency: number; reports: boolean } | { type: 'stop' }) => {
    if (m.type === 'stop') {
      await backends.close();
      await client.connection.close();
      process.exit(0);
    }
    const durations: number[] = [];
    const errors: string[] = [];
    const outcomes = emptyOutcomes();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const t0 = performance.now();
    await pool(config.models, m.concurrency, async (spec) => {
      const s = performance.now();
      try {
        const check = await (m.reports ? checkModel : noReport)({ ref: { model: spec.name }, asOf: new Date().toISOString() });
        const decision = evaluateTriggers(spec.triggers, check, { now: Date.now() });
        countOutcome(outcomes, spec, check, decision.fired.length === 0 ? 'none' : decision.heldByCooldown ? 'cooldown' : 'would_start');
      } catch (err) {
        errors.push(`${spec.name}: ${(err as Error).message}`);
      }
      durations.push(performance.now() - s);
    });
    const wallMs = performance.now() - t0;
    loop.disable();
    const loopDelay = { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
    process.send!({ reports: m.reports, wallMs, loopDelay, durations, errors, outcomes } satisfies DirectRound);
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ ready: true });
}
