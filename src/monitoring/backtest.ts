import { parse as parseYaml } from 'yaml';
import { durationMs } from '../config/duration.js';
import { model as modelSchema, type ModelSpec } from '../config/schema.js';
import { ConfigError, formatPath } from '../config/load.js';
import type { DataBackend } from '../backends/data/types.js';
import type { Registry } from '../backends/registry/types.js';
import { evaluateTriggers, type ConsideredTrigger, type FiredTrigger } from '../drift/decisions/triggers.js';
import { measureCheck, memoryDetectorStore } from './check.js';
import type { CheckResult } from '../domain/check.js';

/**
 * `retrain backtest`: the monitor's checks replayed over the lake's history at a cadence, each as
 * of its own time, with the same measurements and the same trigger rules as the live monitor, and
 * no Temporal. A check that would start a pipeline is recorded as one (the cooldown then counts
 * from it); the champion stays what the registry says, so after a needed retrain the evidence
 * keeps firing, as it would if the retrain were refused.
 */

export interface BacktestDecision {
  at: string;
  action: 'none' | 'would_start' | 'cooldown' | 'backoff';
  fired: FiredTrigger[];
  considered: ConsideredTrigger[];
  /** The numbers the decision rested on. */
  evidence: {
    rows: number;
    drifted: string[];
    estimate?: CheckResult['estimate'];
    performance?: CheckResult['performance'];
    labels?: CheckResult['labels'];
    sequential?: CheckResult['sequential'];
    newLabels: number;
  };
}

export interface BacktestResult {
  model: string;
  from: string;
  to: string;
  every: string;
  settings: string[];
  decisions: BacktestDecision[];
  /** Per trigger kind: how many checks it fired on, and how many started a (simulated) pipeline. */
  summary: Record<string, { fired: number; started: number }>;
  pipelines: number;
}

export interface BacktestOptions {
  from: Date;
  to: Date;
  every: string;
  /** `path=value` overrides of the model's spec, e.g. `triggers.drift.action=retrain`. */
  set?: string[];
  onProgress?: (done: number, total: number) => void;
}

export async function backtest(backends: { data: DataBackend; registry: Pick<Registry, 'resolve'> }, base: ModelSpec, options: BacktestOptions): Promise<BacktestResult> {
  const spec = withOverrides(base, options.set ?? []);
  const step = durationMs(options.every);
  if (!(options.to.getTime() > options.from.getTime())) throw new ConfigError('backtest', [`--to (${options.to.toISOString()}) must be after --from (${options.from.toISOString()})`]);
  const total = Math.floor((options.to.getTime() - options.from.getTime()) / step) + 1;
  if (total > 50_000) throw new ConfigError('backtest', [`${total} checks from --from to --to every ${options.every}: at most 50,000; use a longer --every`]);

  const detectors = memoryDetectorStore();
  const decisions: BacktestDecision[] = [];
  const summary: BacktestResult['summary'] = {};
  let lastStart: string | undefined;
  for (let i = 0; i < total; i++) {
    const at = new Date(options.from.getTime() + i * step);
    const { result } = await measureCheck({ data: backends.data, registry: backends.registry, detectors, lastRetrainAt: lastStart, skipUnusedCounts: true }, spec, at);
    const decision = evaluateTriggers(spec.triggers, result, { now: at.getTime() });
    const action = decision.fired.length === 0 ? 'none' : decision.heldByCooldown ? 'cooldown' : decision.heldByBackoff ? 'backoff' : 'would_start';
    if (action === 'would_start') lastStart = at.toISOString();
    for (const f of decision.fired) {
      const s = (summary[f.kind] ??= { fired: 0, started: 0 });
      s.fired++;
      if (action === 'would_start') s.started++;
    }
    decisions.push({
      at: at.toISOString(),
      action,
      fired: decision.fired,
      considered: decision.considered ?? [],
      evidence: {
        rows: result.window.rows,
        drifted: result.drift.drifted.map((d) => d.feature),
        estimate: result.estimate,
        performance: result.performance,
        labels: result.labels,
        sequential: result.sequential,
        newLabels: result.newLabels,
      },
    });
    options.onProgress?.(i + 1, total);
  }
  return {
    model: spec.name,
    from: options.from.toISOString(),
    to: options.to.toISOString(),
    every: options.every,
    settings: options.set ?? [],
    decisions,
    summary,
    pipelines: decisions.filter((d) => d.action === 'would_start').length,
  };
}

/** The spec with `path=value` settings applied (values read as YAML scalars), validated again. */
export function withOverrides(spec: ModelSpec, settings: string[]): ModelSpec {
  if (settings.length === 0) return spec;
  const raw = structuredClone(spec) as unknown as Record<string, unknown>;
  for (const setting of settings) {
    const eq = setting.indexOf('=');
    if (eq <= 0) throw new ConfigError('--set', [`"${setting}": expected path=value, e.g. triggers.drift.action=retrain`]);
    const path = setting.slice(0, eq).split('.');
    let node = raw;
    for (const key of path.slice(0, -1)) {
      if (node[key] === undefined) node[key] = {};
      if (typeof node[key] !== 'object' || node[key] === null) throw new ConfigError('--set', [`"${setting}": ${key} is not an object`]);
      node = node[key] as Record<string, unknown>;
    }
    node[path.at(-1)!] = parseYaml(setting.slice(eq + 1));
  }
  const parsed = modelSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError('--set', parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
  return parsed.data;
}
