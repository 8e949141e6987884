import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LakeDataBackend } from '../../src/backends/data/lake/backend.js';
import { DataInputError } from '../../src/backends/data/types.js';
import { call, deploy, features, fraudSpec, predict, startTestGateway, testEnv, type Running, type TestEnv } from './helpers.js';

/**
 * Issue 15: the importer accepted NaN, inf, 1e400, labels nan/7/-3.5 for a binary task and NUL
 * bytes, all of which the gateway refuses. Both now apply src/backends/data/row-rules.ts: each
 * value below is sent to the gateway and imported as a file, and both must give the same answer.
 * (Times have no gateway input: the gateway stamps them itself; the importer's range is tested in
 * test/data/importer.test.ts.)
 */
const spec = fraudSpec();
const FEATURE_COLUMNS = spec.features.map((f) => f.name);
const PREDICTION_HEADER = ['request_id', 'ts', 'model_version', 'variant', ...FEATURE_COLUMNS, 'prediction', 'score'];

/** A feature value as JSON text for the gateway and as CSV text for the importer. */
interface FeatureCase {
  what: string;
  feature: string;
  json: string;
  csv: string;
  accepted: boolean;
}

const featureCases: FeatureCase[] = [
  { what: '1e400 (Infinity)', feature: 'transaction_amount', json: '1e400', csv: '1e400', accepted: false },
  { what: '-1e400', feature: 'account_age_days', json: '-1e400', csv: '-1e400', accepted: false },
  { what: 'NaN', feature: 'hour_of_day', json: '"NaN"', csv: 'nan', accepted: false },
  { what: 'inf', feature: 'distance_from_home_km', json: '"inf"', csv: 'inf', accepted: false },
  { what: 'a NUL byte in a category', feature: 'user_country', json: '"US\\u0000"', csv: 'US\u0000', accepted: false },
  { what: 'a newline in a category', feature: 'merchant_category', json: '"a\\nb"', csv: '"a\nb"', accepted: false },
  { what: 'a 300-character category', feature: 'device_type', json: JSON.stringify('x'.repeat(300)), csv: 'x'.repeat(300), accepted: false },
  { what: 'a large finite number', feature: 'transaction_amount', json: '1e300', csv: '1e300', accepted: true },
  { what: 'a quote and non-ASCII text', feature: 'user_country', json: `"it's ☃"`, csv: `"it's ☃"`, accepted: true },
  { what: '256 characters', feature: 'device_type', json: JSON.stringify('y'.repeat(256)), csv: 'y'.repeat(256), accepted: true },
];

const labelCases = [
  { json: 'NaN', csv: 'nan', accepted: false },
  { json: '7', csv: '7', accepted: false },
  { json: '-3.5', csv: '-3.5', accepted: false },
  { json: '1e400', csv: '1e400', accepted: false },
  { json: '1', csv: '1', accepted: true },
  { json: '0', csv: '0', accepted: true },
  { json: 'true', csv: 'true', accepted: true },
  { json: 'false', csv: 'false', accepted: true },
];

describe('one validation for the gateway and the importer', () => {
  let env: TestEnv;
  let gw: Running;
  let lakeDir: string;
  let lake: LakeDataBackend;
  before(async () => {
    env = testEnv();
    gw = await startTestGateway(env);
    await deploy(gw.url, env);
    lakeDir = mkdtempSync(path.join(tmpdir(), 'one-validation-'));
    lake = new LakeDataBackend({ dataDir: lakeDir, threads: 1 });
  });
  after(async () => {
    await gw.close();
    await lake.close();
    env.cleanup();
    rmSync(lakeDir, { recursive: true, force: true });
  });

  async function imports(name: string, kind: 'predictions' | 'labels', text: string): Promise<{ ok: boolean; message?: string }> {
    const file = path.join(lakeDir, name);
    writeFileSync(file, text);
    try {
      await lake.importFile(spec, kind, file);
      return { ok: true };
    } catch (err) {
      assert.ok(err instanceof DataInputError, String(err));
      return { ok: false, message: err.message };
    }
  }

  test('feature values', async () => {
    for (const [k, c] of featureCases.entries()) {
      const base = features(1);
      const body = JSON.stringify({ features: { ...base, [c.feature]: 0 } }).replace(`"${c.feature}":0`, `"${c.feature}":${c.json}`);
      const answer = await predict(gw.url, body);
      assert.equal(answer.status === 200, c.accepted, `gateway, ${c.what}: ${answer.status} ${JSON.stringify(answer.body)}`);
      if (!c.accepted) assert.ok(answer.body.issues.some((i: { path: string }) => i.path === `features.${c.feature}`), `gateway names ${c.feature}`);

      const row = [`r${k}`, '2024-01-01T10:00:00Z', '1', 'champion', ...FEATURE_COLUMNS.map((f) => (f === c.feature ? c.csv : String(base[f]))), '1', '0.5'];
      const good = [`g${k}`, '2024-01-01T09:00:00Z', '1', 'champion', ...FEATURE_COLUMNS.map((f) => String(base[f])), '0', '0.1'];
      const imported = await imports(`features-${k}.csv`, 'predictions', [PREDICTION_HEADER.join(','), good.join(','), row.join(',')].join('\n'));
      assert.equal(imported.ok, c.accepted, `importer, ${c.what}: ${imported.message}`);
      if (!c.accepted) assert.match(imported.message!, new RegExp(`row 2, column ${c.feature}:`), `importer names row and column`);
    }
  });

  test('labels of a binary classification task', async () => {
    const served = (await predict(gw.url, { features: features(2) })).body.request_id;
    for (const [k, c] of labelCases.entries()) {
      const answer = await call(`${gw.url}/v1/models/${spec.name}/feedback`, 'POST', `{"request_id": "${served}", "label": ${c.json}}`);
      assert.equal(answer.status === 202, c.accepted, `gateway, label ${c.json}: ${answer.status} ${JSON.stringify(answer.body)}`);
      const imported = await imports(`labels-${k}.csv`, 'labels', `request_id,label,label_ts\nr1,1,2024-01-02\nr2,${c.csv},2024-01-02\n`);
      assert.equal(imported.ok, c.accepted, `importer, label ${c.csv}: ${imported.message}`);
      if (!c.accepted) assert.match(imported.message!, /row 2, column label: /);
    }
  });
});
