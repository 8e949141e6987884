import type { TrainingRow } from '../../backends/data/types.js';
import type { ModelSpec } from '../../config/schema.js';
import { driftIntensity, type DriftPlan } from './drift.js';
import { FRAUD_DRIFT_FEATURES, FRAUD_FEATURES, FraudGenerator, HOURLY_VOLUME } from './fraud.js';
import { mix, Rng, sigmoid } from './rng.js';

/**
 * Labelled rows that follow a model's spec. Specs with the fraud example's seven features get the
 * fraud generator (extra features of such a spec come from the generic one); any other spec gets
 * the generic generator: numerical features normal, categorical ones from the spec's categories
 * or a small vocabulary, and a hidden linear (or logistic) ground truth with seeded coefficients.
 *
 * Everything is deterministic given the seed and the sequence of `elapsedMs` values asked for.
 */
export interface SimEvent {
  entity_id: string;
  features: Record<string, number | string>;
  label: number;
  /** Drift intensity 0..1 applied to this row. */
  drift: number;
}

export interface GeneratorOptions {
  seed: number;
  drift: DriftPlan;
  /** The label function changes with the same schedule as the drift. */
  conceptChange?: boolean;
  users?: number;
}

export interface Generator {
  readonly kind: 'fraud' | 'generic';
  /** One row at `elapsedMs` since the start; `hour` pins the hour of day (history rows). */
  sample(elapsedMs: number, hour?: number): SimEvent;
}

export function isFraudSpec(spec: Pick<ModelSpec, 'features'>): boolean {
  return FRAUD_FEATURES.every((f) => spec.features.some((s) => s.name === f.name && s.type === f.type));
}

export function createGenerator(spec: Pick<ModelSpec, 'features' | 'task'>, options: GeneratorOptions): Generator {
  const generic = new GenericGenerator(spec, options);
  if (!isFraudSpec(spec)) return generic;
  const fraud = new FraudGenerator(options.seed, options.users);
  const driftFeatures = new Set(options.drift.features ?? FRAUD_DRIFT_FEATURES);
  const fraudNames = new Set<string>(FRAUD_FEATURES.map((f) => f.name));
  const extras = spec.features.filter((f) => !fraudNames.has(f.name));
  return {
    kind: 'fraud',
    sample(elapsedMs, hour) {
      const d = driftIntensity(options.drift, elapsedMs);
      const t = fraud.draw({ drift: d, driftFeatures, concept: options.conceptChange ? d : 0, hour, elapsedDays: elapsedMs / 86_400_000 });
      const features: Record<string, number | string> = { ...t.features };
      if (extras.length) Object.assign(features, generic.features(elapsedMs, extras));
      return { entity_id: t.entity_id, features, label: t.label, drift: d };
    },
  };
}

const VOCABULARY = ['a', 'b', 'c', 'd', 'e'];

class GenericGenerator implements Generator {
  readonly kind = 'generic' as const;
  private readonly rng: Rng;
  private readonly coefficients = new Map<string, number>();
  private readonly categoryEffects = new Map<string, number[]>();
  private readonly driftFeatures: Set<string>;

  constructor(
    private readonly spec: Pick<ModelSpec, 'features' | 'task'>,
    private readonly options: GeneratorOptions,
  ) {
    const root = new Rng(options.seed);
    this.rng = root.fork('generic');
    const coef = root.fork('coefficients');
    for (const f of spec.features) {
      if (f.type === 'numerical') this.coefficients.set(f.name, (coef.next() * 2 - 1) * 1.2);
      else this.categoryEffects.set(f.name, this.vocabulary(f).map(() => (coef.next() * 2 - 1) * 1.0));
    }
    // By default drift touches every other feature, so some stay stable as a control.
    this.driftFeatures = new Set(options.drift.features ?? spec.features.filter((_, i) => i % 2 === 0).map((f) => f.name));
  }

  private vocabulary(f: ModelSpec['features'][number]): string[] {
    return f.categories?.length ? f.categories : VOCABULARY;
  }

  features(elapsedMs: number, which = this.spec.features): Record<string, number | string> {
    const d = driftIntensity(this.options.drift, elapsedMs);
    const out: Record<string, number | string> = {};
    for (const f of which) {
      const drift = this.driftFeatures.has(f.name) ? d : 0;
      if (f.type === 'numerical') out[f.name] = Math.round((this.rng.normal() * (1 + 0.5 * drift) + 1.5 * drift) * 1e4) / 1e4;
      else {
        const vocab = this.vocabulary(f);
        const weights = vocab.map((_, i) => 0.6 ** i);
        out[f.name] = vocab[this.rng.weighted(mix(weights, [...weights].reverse(), drift))];
      }
    }
    return out;
  }

  sample(elapsedMs: number): SimEvent {
    const d = driftIntensity(this.options.drift, elapsedMs);
    const features = this.features(elapsedMs);
    const concept = this.options.conceptChange ? d : 0;
    let z = this.spec.task === 'binary_classification' ? -1 : 2;
    for (const f of this.spec.features) {
      const v = features[f.name];
      if (f.type === 'numerical') z += this.coefficients.get(f.name)! * (1 - 2 * concept) * (v as number);
      else {
        const vocab = this.vocabulary(f);
        z += (this.categoryEffects.get(f.name)![vocab.indexOf(v as string)] ?? 0) * (1 - concept);
      }
    }
    const label = this.spec.task === 'binary_classification' ? (this.rng.next() < sigmoid(z) ? 1 : 0) : Math.round((z + 0.3 * this.rng.normal()) * 1e4) / 1e4;
    return { entity_id: `entity-${String(this.rng.int(5_000)).padStart(5, '0')}`, features, label, drift: d };
  }
}

export interface HistoryOptions {
  /** Days of history ending at `end` (default 30). */
  days?: number;
  rowsPerDay?: number;
  seed?: number;
  /** The history ends at the last UTC midnight before this (default now). */
  end?: Date;
}

/**
 * A labelled historical training set without drift, `rowsPerDay` rows per day over `days` days,
 * timestamps following the daily rhythm (the fraud example's hour_of_day is the row's UTC hour).
 * Feed it to the lake with `data.appendTraining(spec, rows)` to train a first champion.
 */
export function generateHistory(spec: Pick<ModelSpec, 'name' | 'features' | 'task'>, options: HistoryOptions = {}): TrainingRow[] {
  const days = options.days ?? 30;
  const perDay = options.rowsPerDay ?? 2_000;
  const seed = options.seed ?? 1;
  // Whole UTC days, ending at the last midnight before `end`, so hour_of_day is the row's UTC hour.
  const endMs = Math.floor((options.end ?? new Date()).getTime() / 86_400_000) * 86_400_000;
  const startMs = endMs - days * 86_400_000;
  const generator = createGenerator(spec, { seed, drift: { kind: 'none', startMs: 0, windowMs: 0, periodMs: 1 } });
  const timing = new Rng(seed).fork('history-times');
  const rows: TrainingRow[] = [];
  for (let day = 0; day < days; day++) {
    for (let i = 0; i < perDay; i++) {
      const hour = timing.weighted(HOURLY_VOLUME);
      const ts = startMs + day * 86_400_000 + hour * 3_600_000 + Math.floor(timing.next() * 3_600_000);
      const e = generator.sample(ts - startMs, hour);
      rows.push({ request_id: `hist-${seed}-${day}-${i}`, ts, features: e.features, label: e.label });
    }
  }
  return rows.sort((a, b) => (a.ts as number) - (b.ts as number));
}
