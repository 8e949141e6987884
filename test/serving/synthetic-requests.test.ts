import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildProfile, mulberry32, type CategoricalProfile, type DriftProfile, type NumericalProfile } from '../../src/drift/index.js';
import { parseConfig } from '../../src/config/load.js';
import {
  buildSyntheticRequests, judgePreTraffic, outputProblem, wholeCheckFailure, type SyntheticAnswer, type SyntheticRequest,
} from '../../src/serving/synthetic-requests.js';
import { buildSchemas, parsePredictBody } from '../../src/serving/validation.js';
import { fraudSpec, features } from './helpers.js';

/** The demo fraud model's reference profile, built from 3,000 rows the way training builds it. */
function fraudProfile(): DriftProfile {
  const spec = fraudSpec();
  const random = mulberry32(5);
  const rows = Array.from({ length: 3_000 }, (_, i): Record<string, number | string | null> => {
    const f = features(i);
    return { ...f, transaction_amount: Math.exp(2 + random() * 5), hour_of_day: Math.floor(random() * 24) };
  });
  const columns = Object.fromEntries(spec.features.map((f) => [f.name, rows.map((r) => r[f.name])]));
  return buildProfile(columns as never, { features: spec.features.map((f) => ({ name: f.name, type: f.type })) });
}

const numerical = (p: DriftProfile, name: string) => p.features.find((f) => f.name === name) as NumericalProfile;
const categorical = (p: DriftProfile, name: string) => p.features.find((f) => f.name === name) as CategoricalProfile;
const median = (f: NumericalProfile) => f.summary!.quantiles[f.summary!.quantileLevels.indexOf(0.5)];

describe('synthetic requests from a reference profile', () => {
  const spec = fraudSpec();
  const profile = fraudProfile();
  const { requests, leftOut } = buildSyntheticRequests(spec, profile, { maxPerCategory: 50 });
  const of = (category: SyntheticRequest['category']) => requests.filter((r) => r.category === category);

  it('typical rows start at the medians and modes', () => {
    const [first, ...rest] = of('typical');
    assert.equal(first.label, 'reference medians and modes');
    assert.equal(first.features.transaction_amount, median(numerical(profile, 'transaction_amount')));
    assert.equal(first.features.merchant_category, categorical(profile, 'merchant_category').categories[0]);
    assert.ok(rest.length >= 5, `${rest.length} more typical rows`);
    assert.equal(new Set(of('typical').map((r) => JSON.stringify(r.features))).size, of('typical').length, 'no row twice');
    assert.ok(of('typical').every((r) => r.expect === 'score'));
  });

  it('edge rows hold each numerical feature at its reference min, max, 1st and 99th percentile, and all at once', () => {
    const edges = of('edge');
    for (const name of ['transaction_amount', 'account_age_days', 'hour_of_day', 'distance_from_home_km']) {
      const s = numerical(profile, name).summary!;
      assert.ok(edges.some((r) => r.features[name] === s.min && r.label.includes(`${name} at the reference min`)), `${name} min`);
      assert.ok(edges.some((r) => r.features[name] === s.max && r.label.includes(`${name} at the reference max`)), `${name} max`);
    }
    const amount = numerical(profile, 'transaction_amount').summary!;
    assert.ok(edges.some((r) => r.features.transaction_amount === amount.quantiles[amount.quantileLevels.indexOf(0.99)]));
    const allMax = edges.find((r) => r.label === 'every numerical feature at its reference max')!;
    assert.equal(allMax.features.account_age_days, numerical(profile, 'account_age_days').summary!.max);
    assert.equal(allMax.features.transaction_amount, amount.max);
    assert.ok(edges.every((r) => r.expect === 'score'));
  });

  it('missing rows: each feature null in turn is scored; a feature left out is refused by the schema', () => {
    const missing = of('missing');
    for (const f of spec.features) {
      const nulled = missing.find((r) => r.label === `${f.name} missing (null)`)!;
      assert.equal(nulled.features[f.name], null);
      assert.equal(nulled.expect, 'score');
      const absent = missing.find((r) => r.label === `${f.name} left out of the request`)!;
      assert.ok(!(f.name in absent.features));
      assert.equal(absent.expect, 'refuse');
    }
    assert.ok(missing.some((r) => r.label === 'every feature missing (null)' && Object.values(r.features).every((v) => v === null)));
  });

  it('unseen categories are outside the reference and accepted by the schema', () => {
    const unseen = of('unseen');
    for (const name of ['user_country', 'merchant_category', 'device_type']) {
      const rows = unseen.filter((r) => r.label.startsWith(name));
      assert.equal(rows.length, 3, name);
      for (const r of rows) assert.ok(!categorical(profile, name).categories.includes(r.features[name] as string));
    }
    assert.ok(unseen.every((r) => r.expect === 'score'));
  });

  it("each row's expectation is the gateway's own schema's answer", () => {
    const schemas = buildSchemas(spec);
    for (const r of requests) {
      let accepted = true;
      try {
        parsePredictBody(schemas, { features: r.features });
      } catch {
        accepted = false;
      }
      assert.equal(r.expect, accepted ? 'score' : 'refuse', r.label);
    }
    assert.deepEqual(leftOut, { typical: 0, edge: 0, missing: 0, unseen: 0 });
  });

  it('caps each category and counts what it left out; builds rows without a profile too', () => {
    const capped = buildSyntheticRequests(spec, profile, { maxPerCategory: 2 });
    for (const c of ['typical', 'edge', 'missing', 'unseen'] as const) assert.equal(capped.requests.filter((r) => r.category === c).length, 2);
    assert.equal(capped.leftOut.edge, of('edge').length - 2);
    const bare = buildSyntheticRequests(spec, null, { maxPerCategory: 50 });
    assert.ok(bare.requests.some((r) => r.category === 'typical' && r.expect === 'score'));
    assert.equal(bare.requests.filter((r) => r.category === 'edge').length, 0, 'no profile, no edges to probe');
  });

  it('a model with a spec of one numerical feature gets no unseen rows and no combined edges', () => {
    const one = parseConfig(`models:\n  - name: m\n    task: regression\n    features: [{ name: x, type: numerical }]\n    label: { name: y }\n`).models[0];
    const p = buildProfile({ x: Float64Array.from({ length: 500 }, (_, i) => i) }, { features: [{ name: 'x', type: 'numerical' }] });
    const built = buildSyntheticRequests(one, p, { maxPerCategory: 50 });
    assert.equal(built.requests.filter((r) => r.category === 'unseen').length, 0);
    const s = (p.features[0] as NumericalProfile).summary!;
    const q = (level: number) => s.quantiles[s.quantileLevels.indexOf(level)];
    assert.deepEqual(built.requests.filter((r) => r.category === 'edge').map((r) => r.features.x), [0, 499, q(0.01), q(0.99)]);
  });
});

describe('judging the answers', () => {
  const spec = fraudSpec();
  const { requests } = buildSyntheticRequests(spec, fraudProfile(), { maxPerCategory: 50 });
  const options = { task: 'binary_classification' as const, budgetMs: 250, version: 2, profile: 'challenger' as const, leftOut: 0, at: '2026-01-01T00:00:00.000Z' };
  const good = (r: SyntheticRequest, i: number): SyntheticAnswer =>
    r.expect === 'score' ? { outcome: 'scored', prediction: i % 2, score: i % 2 ? 0.8 : 0.1, latencyMs: 1 + (i % 7) / 10 } : { outcome: 'refused', status: 400, error: 'invalid_request', message: 'missing feature' };
  const answers = () => requests.map(good);

  it('passes when every valid row is scored in range and the left-out features are refused', () => {
    const record = judgePreTraffic(requests, answers(), options);
    assert.equal(record.passed, true, record.reason);
    const refusals = requests.filter((r) => r.expect === 'refuse').length;
    assert.equal(record.refusedAsExpected, refusals);
    assert.equal(record.scored, requests.length - refusals);
    assert.equal(record.failureCount, 0);
    assert.equal(record.latencyMs.p99, 1.6);
    assert.deepEqual(record.requests, { typical: requests.filter((r) => r.category === 'typical').length, edge: requests.filter((r) => r.category === 'edge').length, missing: requests.filter((r) => r.category === 'missing').length, unseen: 9 });
    assert.match(record.reason, /synthetic requests: \d+ scored in range, 7 refused as the schema requires; p99 1\.6 ms \(budget 250 ms\)/);
  });

  it('fails on a refusal of a valid row, a scoring error, NaN, a score outside [0, 1], a wrong type, and a row scored that the schema refuses', () => {
    const a = answers();
    const at = (label: string) => requests.findIndex((r) => r.label === label);
    const unseen = requests.findIndex((r) => r.category === 'unseen');
    a[unseen] = { outcome: 'refused', status: 400, error: 'invalid_request', message: 'features.user_country: unknown category' };
    a[at('every numerical feature at its reference max')] = { outcome: 'scored', prediction: 1, score: 'NaN', latencyMs: 1 };
    a[at('reference medians and modes')] = { outcome: 'error', message: 'scorer failed: boom', latencyMs: 2 };
    a[at('transaction_amount missing (null)')] = { outcome: 'scored', prediction: 1, score: 1.3, latencyMs: 1 };
    a[at('hour_of_day missing (null)')] = { outcome: 'scored', prediction: 'yes', score: 0.3, latencyMs: 1 };
    a[at('transaction_amount left out of the request')] = { outcome: 'scored', prediction: 0, score: 0.2, latencyMs: 1 };
    const record = judgePreTraffic(requests, a, options);
    assert.equal(record.passed, false);
    assert.equal(record.failureCount, 6);
    const reasons = record.failures.map((f) => `${f.category}: ${f.reason}`);
    assert.ok(reasons.includes("typical: scoring error: scorer failed: boom"), reasons.join('\n'));
    assert.ok(reasons.includes('edge: output out of range: non-finite score NaN'));
    assert.ok(reasons.includes('missing: output out of range: score 1.3 is outside [0, 1] (a probability)'));
    assert.ok(reasons.some((r) => r.startsWith('missing: output out of range: wrong type: prediction is the string "yes"')));
    assert.ok(reasons.some((r) => r.startsWith("missing: scored a row the model's schema refuses")));
    assert.ok(reasons.some((r) => r.startsWith("unseen: refused a row the model's schema accepts (400 invalid_request)")));
    assert.ok(record.failures.every((f) => f.row !== undefined), 'each failure keeps its row');
    assert.match(record.reason, /^pre-traffic checks failed on 6 of \d+ synthetic requests, first: typical row \(reference medians and modes\): scoring error: scorer failed: boom$/);
  });

  it('fails when the p99 latency is over the budget', () => {
    const a = answers().map((x, i) => (x.outcome === 'scored' && i % 10 === 3 ? { ...x, latencyMs: 400 } : x));
    const record = judgePreTraffic(requests, a, options);
    assert.equal(record.passed, false);
    assert.equal(record.latencyMs.p99, 400);
    assert.deepEqual(record.failures.map((f) => f.category), ['latency']);
    assert.match(record.reason, /p99 400 ms is over the 250 ms budget \(slowest: .+, 400 ms\)/);
  });

  it('a missing answer is a failure; failures listed are capped, all counted', () => {
    const a: SyntheticAnswer[] = requests.map(() => ({ outcome: 'error', message: 'down', latencyMs: 1 }));
    a.pop();
    const record = judgePreTraffic(requests, a, options);
    assert.equal(record.failureCount, requests.length);
    assert.equal(record.failures.length, 20);
    assert.equal(record.failures.length < record.failureCount, true);
  });

  it('output kinds per task', () => {
    assert.equal(outputProblem('regression', 1234.5, 1234.5), undefined);
    assert.equal(outputProblem('regression', 'Infinity', 'Infinity'), 'non-finite score Infinity');
    assert.equal(outputProblem('binary_classification', 0.4, 0.4), 'prediction 0.4 is not a class (0 or 1)');
    assert.equal(outputProblem('binary_classification', 1, null), 'wrong type: score is null, expected a number');
    assert.equal(outputProblem('binary_classification', 0, 0), undefined);
  });

  it('a check that could not stage its version fails as a whole', () => {
    const record = wholeCheckFailure({ category: 'deployment', label: 'v2 on the gateway', reason: 'the gateway refused to stage v2: 422' }, { ...options, requests, leftOut: 0 });
    assert.equal(record.passed, false);
    assert.equal(record.leftOut, requests.length);
    assert.equal(record.reason, 'pre-traffic checks failed: the gateway refused to stage v2: 422');
  });
});
