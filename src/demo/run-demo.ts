import type { Client } from '@temporalio/client';
import type { Backends } from '../activities/backends.js';
import { desiredSchedules, reconcileSchedules } from '../schedules/reconcile.js';
import { createGenerator, driftPlan, formatProgress, runSimulation } from './simulator/index.js';
import { startNarrator } from './narrator.js';
import { seedChampion } from './seed.js';

export interface DemoOptions {
  backends: Backends;
  client: Client;
  gatewayUrl: string;
  say: (line: string) => void;
  signal: AbortSignal;
  /** Requests per second the simulator sends (default 20). */
  rate?: number;
  /** When the simulated drift begins (default 3 minutes after start). */
  driftStartMs?: number;
  /** The web UI's list of a model's pipelines (no monitor checks), when there is a UI to link to. */
  pipelinesLink?: (model: string) => string;
}

/**
 * The tour `npm run dev` gives: a first champion for every model, their monitor schedules applied,
 * and live traffic whose inputs drift after a few minutes, so a person can watch drift detected →
 * retrain → gates → approval → canary → promotion, in the terminal and in the Temporal UI.
 * Everything it touches persists, so running it again resumes where it was.
 */
export async function runDemo(options: DemoOptions): Promise<void> {
  const { backends: b, say } = options;
  for (const spec of b.config.models) {
    const seeded = await seedChampion(b, spec, { logger: b.logger });
    say(`${spec.name}: champion v${seeded.version} ${seeded.created ? 'trained on a generated 30-day history and deployed' : 'already in place, deployed'}`);
  }
  const changes = await reconcileSchedules(options.client, desiredSchedules(b.config, b.settings));
  for (const c of changes.filter((x) => x.change !== 'unchanged')) say(`schedule ${c.scheduleId}: ${c.change} (${c.summary})`);

  const narrator = startNarrator(options.client, b.config.models, say, options.signal, { pipelines: options.pipelinesLink });
  const driftStartMs = options.driftStartMs ?? 180_000;
  const rate = options.rate ?? 20;
  // The first model gets the full rate; the others (e.g. the hybrid one) half of it each.
  const simulations = b.config.models.map((spec, i) => {
    const modelRate = i === 0 ? rate : Math.max(1, Math.round(rate / 2));
    say(`${spec.name}: sending ${modelRate} requests/s; input drift begins in ${Math.round(driftStartMs / 60_000)} min and the monitor checks every ${spec.monitor.every ?? spec.monitor.cron}${spec.learning.mode === 'batch' ? '' : `; its online copy learns every ${spec.learning.updateEvery}`}`);
    let lastProgress = 0;
    return runSimulation({
      gateway: options.gatewayUrl,
      model: spec.name,
      generator: createGenerator(spec, { seed: (Date.now() + i) % 100_000, drift: driftPlan('sudden', driftStartMs), conceptChange: true }),
      drift: driftPlan('sudden', driftStartMs),
      rate: modelRate,
      durationMs: 24 * 3_600_000,
      labelDelayMs: 20_000,
      signal: options.signal,
      progressEveryMs: 60_000,
      onProgress: (p) => {
        if (p.elapsedMs - lastProgress < 60_000) return;
        lastProgress = p.elapsedMs;
        say(`traffic ${spec.name}: ${formatProgress(p)}`);
      },
    });
  });
  await Promise.all([...simulations, narrator]);
}
