import type { ModelSpec } from '../../src/config/schema.js';
import { FRAUD_FEATURES } from '../../src/demo/simulator/fraud.js';
import { createGenerator, driftPlan, runSimulation, type RunSummary } from '../../src/demo/simulator/index.js';

export type FraudFeature = (typeof FRAUD_FEATURES)[number]['name'];

export interface FraudModelOptions {
  /** `label.delay` (default 1s: labels mature at once). */
  labelDelay?: string;
  /** A subset of the demo's seven features, in their order (default all of them). */
  features?: FraudFeature[];
}

/**
 * The tests' one fraud model: a `models:` entry for the demo's fraud model (the simulator's
 * features, `is_fraud` label, sticky on entity_id) served at `url` (undefined: the process's RETRAIN_GATEWAY_URL); `extra` is YAML for the
 * policies a test cares about, indented 4. The product's own object form, for code that needs no
 * YAML, is `fraudModelSpec` in src/demo/simulator/fraud.ts (the same features).
 */
export function fraudModelYaml(name: string, url: string | undefined, extra = '', options: FraudModelOptions = {}): string {
  const chosen = options.features ? FRAUD_FEATURES.filter((f) => options.features!.includes(f.name)) : FRAUD_FEATURES;
  const features = chosen.map((f) => `      - { name: ${f.name}, type: ${f.type} }`).join('\n');
  return `
  - name: ${name}
    task: binary_classification
    features:
${features}
    label: { name: is_fraud, delay: ${options.labelDelay ?? '1s'} }
    serving: { ${url === undefined ? '' : `url: "${url}", `}entityKey: entity_id }
${extra.replace(/^\n+/, '').replace(/\s+$/, '')}
`;
}

export { freePort } from './free-port.js';

/** The same model trained with fewer epochs: a quick (and weaker) first champion for seeding. */
export function withEpochs(spec: ModelSpec, epochs: number): ModelSpec {
  return { ...spec, trainer: { ...spec.trainer, params: { ...(spec.trainer.params as object), epochs } } as ModelSpec['trainer'] };
}

/** Undrifted live traffic at 40 req/s with labels a second later, for 15 minutes or until `signal` aborts. */
export function steadyTraffic(gateway: string, spec: ModelSpec, seed: number, signal: AbortSignal): Promise<RunSummary> {
  return runSimulation({
    gateway,
    model: spec.name,
    generator: createGenerator(spec, { seed, drift: driftPlan('none', 0) }),
    drift: driftPlan('none', 0),
    rate: 40,
    durationMs: 15 * 60_000,
    labelDelayMs: 1_000,
    signal,
  });
}
