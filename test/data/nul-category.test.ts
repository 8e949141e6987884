import assert from 'node:assert/strict';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DuckDBInstance, LIST, listValue, VARCHAR } from '@duckdb/node-api';
import { newDataFileName } from '../../src/backends/data/lake/layout.js';
import { DataInputError } from '../../src/backends/data/types.js';
import { buildProfile, type ProfileSpec } from '../../src/drift/profile.js';
import { compareToProfile } from '../../src/drift/report.js';
import { DAY, T0, prediction, query, tempLake, testSpec, type Lake } from './helpers.js';

/**
 * Issue 15: one categorical value "\u0000", accepted by an older gateway and logged, made every
 * later read of its window fail with a DuckDB parser error, because the categories read from the
 * lake were spelled back into SQL as string literals. The lake may still hold such values, so the
 * reads must take them as data; new writes refuse them.
 */
const spec = testSpec();
const POISON = ['\u0000', "it's", "'); DROP TABLE x; --", 'tab\there', '\u0000\u0000', 'é'];

describe('data lake: categories holding NUL bytes and quotes', () => {
  let lake: Lake;
  beforeEach(() => {
    lake = tempLake();
  });
  afterEach(() => lake.cleanup());

  /** Clean rows through the writer, then a file with the poisoned categories written beside them the way an older version could have. */
  async function poisonedLake(rows: number, distinct: number): Promise<void> {
    const written = await lake.backend.appendPredictions(spec, Array.from({ length: rows }, (_, i) => prediction(i % 20)));
    const source = written.files[0];
    const target = path.join(path.dirname(source), newDataFileName());
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      // Same columns and types as the writer's file; only plan differs: every 3rd row poisoned.
      await connection.run(
        `COPY (SELECT * EXCLUDE (n) REPLACE (CASE WHEN n % 3 = 0 THEN $poison[1 + (n // 3) % ${POISON.length}] ELSE 'plan-' || (n % ${distinct}) END AS plan)
               FROM (SELECT *, row_number() OVER () AS n FROM read_parquet($source, hive_partitioning = false)))
         TO $target (FORMAT parquet)`,
        { poison: listValue(POISON), source, target },
        { poison: LIST(VARCHAR) },
      );
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  it('the poisoned file really holds the NUL byte (the test would prove nothing otherwise)', async () => {
    await poisonedLake(60, 5);
    const rows = await query(`SELECT count(*) FILTER (WHERE plan = chr(0))::INTEGER AS nul, count(*) FILTER (WHERE plan LIKE '%''%')::INTEGER AS quote
      FROM read_parquet('${lake.backend.layout.kindDir('churn', 'predictions')}/*/*.parquet', hive_partitioning = false)`);
    assert.ok(Number(rows[0].nul) > 0, JSON.stringify(rows));
    assert.ok(Number(rows[0].quote) > 0, JSON.stringify(rows));
  });

  for (const [label, distinct] of [
    ['a small dictionary (list_position path)', 5],
    ['a large dictionary (ENUM path)', 400],
  ] as const) {
    it(`readWindow returns the values as they are: ${label}`, async () => {
      await poisonedLake(1_200, distinct);
      const window = await lake.backend.readWindow(spec, { from: new Date(T0), to: new Date(T0 + DAY), variant: 'all' });
      assert.deepEqual(window.quarantined, []);
      assert.equal(window.rowCount, 2_400);
      const plans = window.columns.plan as (string | null)[];
      for (const value of POISON) assert.ok(plans.includes(value), `${JSON.stringify(value)} read back`);
      // The clean file's rows are unchanged by the poisoned neighbour.
      assert.equal(plans.filter((p) => p === 'basic').length, 420);
      const expected = await query(`SELECT count(DISTINCT plan)::INTEGER AS n FROM read_parquet('${lake.backend.layout.kindDir('churn', 'predictions')}/*/*.parquet', hive_partitioning = false)`);
      assert.equal(new Set(plans.filter((p) => p !== null)).size, Number(expected[0].n));
    });
  }

  it('drift over the poisoned window is computed, and labels sliced by the category are read', async () => {
    await poisonedLake(1_200, 5);
    const profileSpec: ProfileSpec = { features: spec.features.map((f) => ({ name: f.name, type: f.type })) };
    const n = 1_500;
    const reference = buildProfile(
      { tenure: Float64Array.from({ length: n }, (_, i) => i % 20), spend: Float64Array.from({ length: n }, (_, i) => (i % 20) * 1.5), plan: Array.from({ length: n }, (_, i) => ['basic', 'pro', 'team'][i % 3]) },
      profileSpec,
    );
    const window = await lake.backend.readWindow(spec, { from: new Date(T0), to: new Date(T0 + DAY), variant: 'all' });
    const report = compareToProfile(reference, window.columns);
    const plan = report.features.find((f) => f.feature === 'plan');
    assert.equal(plan?.verdict, 'drift', JSON.stringify(plan));
    assert.ok(plan.type === 'categorical' && plan.newCategories.includes('\u0000'));

    await lake.backend.appendLabels(spec, Array.from({ length: 20 }, (_, i) => ({ request_id: `r${i}`, label: i % 2, label_ts: new Date(T0 + DAY + i) })));
    const matured = await lake.backend.maturedLabels(spec, { from: new Date(T0), to: new Date(T0 + DAY), asOf: new Date(T0 + 3 * DAY), sliceBy: ['plan'] });
    assert.ok(matured.count > 0);
    assert.equal((matured.slices!.plan as unknown[]).length, matured.count);
    assert.ok(matured.variants!.every((v) => v === 'champion' || v === 'challenger'));
  });

  it('new writes refuse control characters in categories, naming the row and feature', async () => {
    for (const bad of ['\u0000', 'a\u001fb', 'del\u007f']) {
      await assert.rejects(
        lake.backend.appendPredictions(spec, [prediction(1), prediction(2, { features: { tenure: 1, spend: 2, plan: bad } })]),
        (err: Error) => err instanceof DataInputError && /row 1: feature plan: contains the control character U\+00/.test(err.message),
      );
    }
    assert.equal((await lake.backend.appendPredictions(spec, [prediction(3, { features: { tenure: 1, spend: 2, plan: "it's fine" } })])).rowsWritten, 1);
  });
});
