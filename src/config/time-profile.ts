import type { ModelSpec, RetrainConfig } from './schema.js';

/**
 * The `demo` time profile compresses a production week into minutes so the whole story (drift →
 * retrain → gates → approval → canary → promotion) plays out while someone watches. Production
 * leaves the file exactly as written.
 */
export function applyTimeProfile(config: RetrainConfig): RetrainConfig {
  if (config.timeProfile !== 'demo') return config;
  return { ...config, models: config.models.map(demoModel) };
}

function demoModel(spec: ModelSpec): ModelSpec {
  const last = spec.rollout.steps.length - 1;
  return {
    ...spec,
    label: { ...spec.label, delay: '20s' },
    // Minutes of drifted feedback must be able to outweigh a month of history, as weeks would.
    data: { ...spec.data, monitorWindow: '5m', lookback: '2d' },
    monitor: spec.monitor.cron ? spec.monitor : { ...spec.monitor, every: '1m', catchupWindow: '5m' },
    triggers: { ...spec.triggers, cooldown: '2m' },
    approval: { ...spec.approval, sla: '10m', escalationGrace: '5m' },
    rollout: {
      ...spec.rollout,
      shadow: spec.rollout.shadow ? { duration: '1m' } : undefined,
      steps: spec.rollout.steps.map((step, i) => (i === last ? step : { ...step, duration: i === 0 ? '1m' : '2m' })),
      analysisInterval: '15s',
      minSamples: Math.min(spec.rollout.minSamples, 30),
    },
  };
}
