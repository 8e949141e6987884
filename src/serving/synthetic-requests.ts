import type { ModelSpec } from '../config/schema.js';
import { OTHER_CATEGORY, type CategoricalProfile, type DriftProfile, type NumericalProfile } from '../drift/profile.js';
import { MAX_TEXT_LENGTH } from '../backends/data/row-rules.js';
import type { PreTrafficFailure, PreTrafficRecord, SyntheticAnswer, SyntheticCategory, SyntheticFeatures } from '../domain/pre-traffic.js';
import { buildSchemas, parsePredictBody, type ModelSchemas } from './validation.js';

/**
 * Pre-traffic checks, the pure part: synthetic requests built from a version's reference profile,
 * and the judgement of the gateway's answers to them (seed 001: "synthetic canary requests to
 * verify schema compatibility" before traffic shifts). No I/O: the activity sends the rows through
 * the gateway to the challenger alone and hands the answers back here.
 *
 * Four categories, each capped at `maxPerCategory` rows (what is cut is counted):
 * - typical: the reference medians and modes, then rows of quartiles and the most frequent categories;
 * - edge: each numerical feature at the reference min, max, 1st and 99th percentile (the others
 *   typical), every numerical feature at its min together and at its max together, each
 *   categorical feature at its rarest kept category;
 * - missing: each feature null in turn, every feature null, and each feature left out of the request;
 * - unseen: each categorical feature at a category the reference never had, the empty string and
 *   a value of the longest length the schema takes.
 *
 * What each row should get is the model's own request schema's answer (the gateway's
 * validation.ts, from the spec): a row it accepts must be scored, a row it refuses (a feature left
 * out) must be refused. A refusal of a row the schema accepts is a failure; the expected refusal
 * is recorded, not a failure.
 */

export type { PreTrafficFailure, PreTrafficRecord, SyntheticAnswer, SyntheticCategory, SyntheticFeatures } from '../domain/pre-traffic.js';
export const SYNTHETIC_CATEGORIES: readonly SyntheticCategory[] = ['typical', 'edge', 'missing', 'unseen'];

export interface SyntheticRequest {
  category: SyntheticCategory;
  /** What the row probes, in words ("transaction_amount at the reference max 5000"). */
  label: string;
  /** The request's features; a feature absent here is absent from the request. */
  features: SyntheticFeatures;
  /** The model's request schema's answer to this row. */
  expect: 'score' | 'refuse';
}

export interface SyntheticRequestSet {
  requests: SyntheticRequest[];
  /** Rows built but cut by the per-category cap. */
  leftOut: Record<SyntheticCategory, number>;
}

export const MAX_LISTED_FAILURES = 20;
const TYPICAL_ROWS = 10;
const TYPICAL_LEVELS = [0.5, 0.25, 0.75];
const TOP_CATEGORIES = 5;

interface FeatureFacts {
  name: string;
  type: 'numerical' | 'categorical';
  /** Numerical: the reference summary, when the profile has one. */
  numeric?: NonNullable<NumericalProfile['summary']>;
  /** Categorical: the reference's categories by frequency (no __other__), and every value known up front. */
  categories?: string[];
  known?: Set<string>;
}

function factsOf(spec: Pick<ModelSpec, 'features'>, profile: DriftProfile | null | undefined): FeatureFacts[] {
  return spec.features.map((f) => {
    const p = profile?.features.find((x) => x.name === f.name && x.type === f.type);
    if (f.type === 'numerical') return { name: f.name, type: 'numerical', numeric: (p as NumericalProfile | undefined)?.summary ?? undefined };
    const fromProfile = ((p as CategoricalProfile | undefined)?.categories ?? []).filter((c) => c !== OTHER_CATEGORY);
    const categories = fromProfile.length > 0 ? fromProfile : (f.categories ?? []);
    return { name: f.name, type: 'categorical', categories, known: new Set([...fromProfile, ...(f.categories ?? [])]) };
  });
}

function quantile(summary: NonNullable<NumericalProfile['summary']>, level: number): number {
  const i = summary.quantileLevels.indexOf(level);
  if (i >= 0) return summary.quantiles[i];
  return level <= 0.5 ? summary.min : summary.max;
}

const shown = (v: number) => String(Number(v.toPrecision(6)));

/** Builds the synthetic requests for `spec` from `profile` (the challenger's, or the champion's when it has none). */
export function buildSyntheticRequests(spec: Pick<ModelSpec, 'features' | 'task'>, profile: DriftProfile | null | undefined, options: { maxPerCategory: number }): SyntheticRequestSet {
  const facts = factsOf(spec, profile);
  const schemas = buildSchemas(spec as ModelSpec);
  const buckets: Record<SyntheticCategory, Array<Omit<SyntheticRequest, 'expect'>>> = { typical: [], edge: [], missing: [], unseen: [] };
  const typicalValue = (f: FeatureFacts, k = 0): number | string => {
    if (f.type === 'numerical') return f.numeric ? quantile(f.numeric, TYPICAL_LEVELS[k % TYPICAL_LEVELS.length]) : 0;
    const top = (f.categories ?? []).slice(0, TOP_CATEGORIES);
    return top.length > 0 ? top[k % top.length] : 'unknown';
  };
  const base: SyntheticFeatures = Object.fromEntries(facts.map((f) => [f.name, typicalValue(f)]));
  const add = (category: SyntheticCategory, label: string, features: SyntheticFeatures) => buckets[category].push({ category, label, features });
  const withValue = (name: string, value: number | string | null): SyntheticFeatures => ({ ...base, [name]: value });

  // Typical: medians and modes first, then quartiles and frequent categories, each feature shifted.
  const seen = new Set<string>();
  for (let k = 0; buckets.typical.length < TYPICAL_ROWS && k < TYPICAL_ROWS * 3; k++) {
    const row: SyntheticFeatures = Object.fromEntries(facts.map((f, j) => [f.name, k === 0 ? base[f.name] : typicalValue(f, k + j)]));
    const key = JSON.stringify(row);
    if (seen.has(key)) continue;
    seen.add(key);
    add('typical', k === 0 ? 'reference medians and modes' : `typical row ${buckets.typical.length + 1} (quartiles, frequent categories)`, row);
  }

  // Edge: the profile's extremes, one feature at a time, then together.
  const numeric = facts.filter((f) => f.type === 'numerical' && f.numeric);
  for (const f of numeric) {
    const s = f.numeric!;
    add('edge', `${f.name} at the reference min ${shown(s.min)}`, withValue(f.name, s.min));
    if (s.max !== s.min) add('edge', `${f.name} at the reference max ${shown(s.max)}`, withValue(f.name, s.max));
  }
  if (numeric.length > 1) {
    add('edge', 'every numerical feature at its reference min', { ...base, ...Object.fromEntries(numeric.map((f) => [f.name, f.numeric!.min])) });
    add('edge', 'every numerical feature at its reference max', { ...base, ...Object.fromEntries(numeric.map((f) => [f.name, f.numeric!.max])) });
  }
  for (const f of facts) {
    const rarest = f.categories?.at(-1);
    if (f.type === 'categorical' && rarest !== undefined && (f.categories?.length ?? 0) > 1) add('edge', `${f.name} at its rarest reference category ${JSON.stringify(rarest)}`, withValue(f.name, rarest));
  }
  for (const f of numeric) {
    const s = f.numeric!;
    for (const level of [0.01, 0.99]) {
      const v = quantile(s, level);
      if (v !== s.min && v !== s.max) add('edge', `${f.name} at the reference ${level === 0.01 ? '1st' : '99th'} percentile ${shown(v)}`, withValue(f.name, v));
    }
  }

  // Missing: null (an unknown value), every value unknown, and a feature left out of the request.
  for (const f of facts) add('missing', `${f.name} missing (null)`, withValue(f.name, null));
  if (facts.length > 1) add('missing', 'every feature missing (null)', Object.fromEntries(facts.map((f) => [f.name, null])));
  for (const f of facts) {
    const { [f.name]: _left, ...rest } = base;
    add('missing', `${f.name} left out of the request`, rest);
  }

  // Unseen categories.
  for (const f of facts) {
    if (f.type !== 'categorical') continue;
    let fresh = `unseen-${f.name}`;
    while (f.known!.has(fresh)) fresh += '-x';
    add('unseen', `${f.name} at an unseen category ${JSON.stringify(fresh)}`, withValue(f.name, fresh));
    if (!f.known!.has('')) add('unseen', `${f.name} empty ("")`, withValue(f.name, ''));
    const long = 'z'.repeat(MAX_TEXT_LENGTH);
    if (!f.known!.has(long)) add('unseen', `${f.name} at an unseen category of ${MAX_TEXT_LENGTH} characters (the longest the schema takes)`, withValue(f.name, long));
  }

  const requests: SyntheticRequest[] = [];
  const leftOut = { typical: 0, edge: 0, missing: 0, unseen: 0 } as Record<SyntheticCategory, number>;
  for (const category of SYNTHETIC_CATEGORIES) {
    const rows = buckets[category];
    for (const r of rows.slice(0, options.maxPerCategory)) requests.push({ ...r, expect: schemaAnswer(schemas, r.features) });
    leftOut[category] = Math.max(0, rows.length - options.maxPerCategory);
  }
  return { requests, leftOut };
}

/** What the model's request schema (the gateway's own validation) says of a row. */
function schemaAnswer(schemas: ModelSchemas, features: SyntheticFeatures): 'score' | 'refuse' {
  try {
    parsePredictBody(schemas, { features });
    return 'score';
  } catch {
    return 'refuse';
  }
}

const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

/** Why an answer is not an answer of this task, or undefined: a number of the right kind and range. */
export function outputProblem(task: ModelSpec['task'], prediction: unknown, score: unknown): string | undefined {
  for (const [name, value] of [['score', score], ['prediction', prediction]] as const) {
    if (typeof value === 'string' && NON_FINITE.has(value)) return `non-finite ${name} ${value}`;
    if (typeof value !== 'number') return `wrong type: ${name} is ${value === null ? 'null' : typeof value === 'string' ? `the string ${JSON.stringify(value.slice(0, 40))}` : typeof value}, expected a number`;
    if (!Number.isFinite(value)) return `non-finite ${name} ${String(value)}`;
  }
  if (task === 'binary_classification') {
    if ((score as number) < 0 || (score as number) > 1) return `score ${String(score)} is outside [0, 1] (a probability)`;
    if (prediction !== 0 && prediction !== 1) return `prediction ${String(prediction)} is not a class (0 or 1)`;
  }
  if (task === 'multiclass_classification') {
    if ((score as number) < 0 || (score as number) > 1) return `score ${String(score)} is outside [0, 1] (a probability)`;
    if (!Number.isInteger(prediction) || (prediction as number) < 0) return `prediction ${String(prediction)} is not a class index`;
  }
  return undefined;
}

/** Nearest-rank quantile of sorted values. */
function rank(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const round = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);

export interface JudgeOptions {
  task: ModelSpec['task'];
  budgetMs: number;
  version: number;
  profile: PreTrafficRecord['profile'];
  leftOut: number;
  at: string;
}

/**
 * Judges the answers (one per request, in order). A failure is any scoring error, a refusal of a
 * row the schema accepts, a row the schema refuses that was scored anyway (the gateway and the
 * worker disagree about the model's schema), an output that is not a number of the task's kind
 * and range, and a p99 latency over the budget.
 */
export function judgePreTraffic(requests: SyntheticRequest[], answers: SyntheticAnswer[], options: JudgeOptions): PreTrafficRecord {
  const failures: PreTrafficFailure[] = [];
  const latencies: number[] = [];
  const slowest: { label: string; ms: number } = { label: '', ms: -1 };
  let scored = 0;
  let refusedAsExpected = 0;
  const fail = (r: SyntheticRequest, reason: string) => failures.push({ category: r.category, label: r.label, row: r.features, reason });
  requests.forEach((r, i) => {
    const a = answers[i];
    if (!a) return fail(r, 'no answer from the gateway');
    if (a.outcome !== 'refused') {
      latencies.push(a.latencyMs);
      if (a.latencyMs > slowest.ms) Object.assign(slowest, { label: r.label, ms: a.latencyMs });
    }
    if (a.outcome === 'refused') {
      if (r.expect === 'refuse') refusedAsExpected++;
      else fail(r, `refused a row the model's schema accepts (${a.status} ${a.error}): ${a.message}`);
      return;
    }
    if (a.outcome === 'error') return fail(r, `scoring error: ${a.message}`);
    if (r.expect === 'refuse') return fail(r, "scored a row the model's schema refuses: the gateway does not validate requests as the worker's spec says");
    const problem = outputProblem(options.task, a.prediction, a.score);
    if (problem) return fail(r, `output out of range: ${problem}`);
    scored++;
  });
  latencies.sort((x, y) => x - y);
  const latencyMs = { p50: round(rank(latencies, 0.5)), p99: round(rank(latencies, 0.99)), max: round(latencies.at(-1) ?? null) };
  if (latencyMs.p99 !== null && latencyMs.p99 > options.budgetMs) {
    failures.push({ category: 'latency', label: 'p99 latency', reason: `p99 ${latencyMs.p99} ms is over the ${options.budgetMs} ms budget (slowest: ${slowest.label}, ${round(slowest.ms)} ms)` });
  }
  const counts = { typical: 0, edge: 0, missing: 0, unseen: 0 } as Record<SyntheticCategory, number>;
  for (const r of requests) counts[r.category]++;
  const passed = failures.length === 0;
  const first = failures[0];
  const reason = passed
    ? `${requests.length} synthetic requests: ${scored} scored in range, ${refusedAsExpected} refused as the schema requires; p99 ${latencyMs.p99 ?? 'n/a'} ms (budget ${options.budgetMs} ms)`
    : `pre-traffic checks failed on ${failures.length} of ${requests.length} synthetic requests${failures.length > 1 ? ', first' : ''}: ${first.category === 'latency' ? '' : `${first.category} row (${first.label}): `}${first.reason}`;
  return {
    at: options.at,
    version: options.version,
    profile: options.profile,
    budgetMs: options.budgetMs,
    requests: counts,
    leftOut: options.leftOut,
    scored,
    refusedAsExpected,
    latencyMs,
    failures: failures.slice(0, MAX_LISTED_FAILURES),
    failureCount: failures.length,
    passed,
    reason,
  };
}

/** A check that could not judge its rows: the gateway refused to stage the version, or did not answer in time. */
export function wholeCheckFailure(
  failure: Omit<PreTrafficFailure, 'row'> & { category: 'deployment' | 'latency' },
  options: Omit<JudgeOptions, 'task' | 'leftOut'> & { requests: SyntheticRequest[]; leftOut: number },
): PreTrafficRecord {
  const counts = { typical: 0, edge: 0, missing: 0, unseen: 0 } as Record<SyntheticCategory, number>;
  return {
    at: options.at,
    version: options.version,
    profile: options.profile,
    budgetMs: options.budgetMs,
    requests: counts,
    leftOut: options.leftOut + options.requests.length,
    scored: 0,
    refusedAsExpected: 0,
    latencyMs: { p50: null, p99: null, max: null },
    failures: [failure],
    failureCount: 1,
    passed: false,
    reason: `pre-traffic checks failed: ${failure.reason}`,
  };
}
