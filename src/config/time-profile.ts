import { durationMs } from './duration.js';
import type { ModelSpec, RetrainConfig } from './schema.js';

/**
 * The `demo` time profile compresses a production week into minutes so the whole story (drift →
 * retrain → gates → approval → canary → promotion) plays out while someone watches. It only
 * ever shortens: a duration already shorter in the file stays as written. Production leaves the
 * file exactly as written.
 */
export function applyTimeProfile(config: RetrainConfig): RetrainConfig {
  if (config.timeProfile !== 'demo') return config;
  return { ...config, models: config.models.map(demoModel) };
}

/** The shorter of the file's duration and the demo's. */
const atMost = (written: string | undefined, demo: string): string => (written !== undefined && durationMs(written) < durationMs(demo) ? written : demo);

function demoModel(spec: ModelSpec): ModelSpec {
  const last = spec.rollout.steps.length - 1;
  return {
    ...spec,
    label: { ...spec.label, delay: atMost(spec.label.delay, '20s') },
    // Minutes of drifted feedback must be able to outweigh a month of history, as weeks would.
    data: { ...spec.data, monitorWindow: atMost(spec.data.monitorWindow, '5m'), lookback: atMost(spec.data.lookback, '2d') },
    monitor: spec.monitor.cron ? spec.monitor : { ...spec.monitor, every: atMost(spec.monitor.every, '1m'), catchupWindow: atMost(spec.monitor.catchupWindow, '5m') },
    // A rejected run holds its triggers for a day in production: minutes here, or the tour stalls.
    triggers: { ...spec.triggers, cooldown: atMost(spec.triggers.cooldown, '2m'), backoff: { ...spec.triggers.backoff, initial: atMost(spec.triggers.backoff.initial, '2m'), max: atMost(spec.triggers.backoff.max, '16m') } },
    approval: { ...spec.approval, sla: atMost(spec.approval.sla, '10m'), escalationGrace: atMost(spec.approval.escalationGrace, '5m') },
    learning: { ...spec.learning, updateEvery: atMost(spec.learning.updateEvery, '30s'), snapshotEvery: atMost(spec.learning.snapshotEvery, '3m') },
    rollout: {
      ...spec.rollout,
      ...(spec.rollout.shadow ? { shadow: { duration: atMost(spec.rollout.shadow.duration, '1m') } } : {}),
      steps: spec.rollout.steps.map((step, i) => (i === last ? step : { ...step, duration: atMost(step.duration, i === 0 ? '1m' : '2m') })),
      analysis: {
        ...spec.rollout.analysis,
        interval: atMost(spec.rollout.analysis.interval, '15s'),
        minSamples: Math.min(spec.rollout.analysis.minSamples, 30),
        labelWait: spec.rollout.analysis.labelWait === undefined ? undefined : atMost(spec.rollout.analysis.labelWait, '1m'),
      },
    },
  };
}
