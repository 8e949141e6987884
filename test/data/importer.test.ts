import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { importIntoLake } from '../../src/backends/data/lake/index.js';
import { DataInputError } from '../../src/backends/data/types.js';
import { query, tempLake, testSpec, type Lake } from './helpers.js';

const spec = testSpec();
let inputs: string;

function write(name: string, text: string): string {
  const file = path.join(inputs, name);
  writeFileSync(file, text);
  return file;
}

async function writeParquet(name: string, select: string): Promise<string> {
  const file = path.join(inputs, name);
  await query(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  return file;
}

const PREDICTIONS_CSV = [
  'ts,request_id,model_version,variant,tenure,spend,plan,prediction,score,latency_ms',
  '2024-01-01T10:00:00Z,r1,v1,champion,3,10.5,01,1,0.9,4',
  '2024-01-01T23:30:00-02:00,r2,v1,challenger,4,,pro,0,0.2,5', // 2024-01-02T01:30Z, no spend
  '2024-01-02 12:00:00,r3,v1,shadow, 5 ,7,,1,0.6,',
].join('\n');

describe('data lake: importer', () => {
  let lake: Lake;
  before(() => {
    inputs = mkdtempSync(path.join(tmpdir(), 'lake-import-'));
  });
  after(() => rmSync(inputs, { recursive: true, force: true }));
  beforeEach(() => {
    lake = tempLake();
  });
  afterEach(() => lake.cleanup());

  /** Every data file of the model's lake (all tables). */
  function lakeFiles(): string[] {
    const root = lake.backend.layout.modelDir('churn');
    if (!existsSync(root)) return [];
    return readdirSync(root, { recursive: true }).map(String).filter((f) => f.endsWith('.parquet'));
  }

  it('imports CSV predictions: text parsed per the spec, offsets honoured, optional columns filled', async () => {
    const file = write('preds.csv', PREDICTIONS_CSV);
    const result = await lake.backend.importFile(spec, 'predictions', file);
    assert.equal(result.format, 'csv');
    assert.equal(result.rowsWritten, 3);
    assert.equal(result.rowsWithMissingFeatures, 2);
    assert.deepEqual(result.partitions, ['2024-01-01', '2024-01-02']);
    assert.equal(result.files.length, 2);
    const rows = await query(`SELECT request_id, strftime(ts, '%Y-%m-%d %H:%M') AS ts, variant, entity_id, tenure, spend, plan, latency_ms
      FROM read_parquet('${lake.backend.layout.kindDir('churn', 'predictions')}/*/*.parquet', hive_partitioning = false) ORDER BY request_id`);
    assert.deepEqual(rows, [
      { request_id: 'r1', ts: '2024-01-01 10:00', variant: 'champion', entity_id: null, tenure: 3, spend: 10.5, plan: '01', latency_ms: 4 },
      { request_id: 'r2', ts: '2024-01-02 01:30', variant: 'challenger', entity_id: null, tenure: 4, spend: null, plan: 'pro', latency_ms: 5 },
      { request_id: 'r3', ts: '2024-01-02 12:00', variant: 'shadow', entity_id: null, tenure: 5, spend: 7, plan: null, latency_ms: null },
    ]);
    // And the backend reads them back like any other file.
    const window = await lake.backend.readWindow(spec, { from: new Date('2024-01-01T00:00:00Z'), to: new Date('2024-01-03T00:00:00Z'), variant: 'all' });
    assert.equal(window.rowCount, 3);
    assert.deepEqual(window.quarantined, []);
  });

  it('imports Parquet training data with integer and TIMESTAMPTZ columns converted', async () => {
    const file = await writeParquet(
      'train.parquet',
      `SELECT 't' || i AS request_id, ('2024-02-01 00:00:00+00'::TIMESTAMPTZ + i * INTERVAL 12 HOUR) AS ts,
        i::INTEGER AS tenure, i * 2.5 AS spend, CASE WHEN i = 3 THEN NULL ELSE 'basic' END AS plan, (i % 2)::TINYINT AS churned
       FROM range(6) t(i)`,
    );
    const result = await lake.backend.importFile(spec, 'training', file);
    assert.equal(result.format, 'parquet');
    assert.equal(result.rowsWritten, 6);
    assert.equal(result.rowsWithMissingFeatures, 1);
    assert.deepEqual(result.partitions, ['2024-02-01', '2024-02-02', '2024-02-03']);
    const rows = await query(`SELECT request_id, ts, tenure, spend, plan, churned FROM read_parquet('${lake.backend.layout.kindDir('churn', 'training')}/*/*.parquet', hive_partitioning = false) ORDER BY ts`);
    assert.equal(rows.length, 6);
    assert.deepEqual(rows[5], { request_id: 't5', ts: new Date('2024-02-03T12:00:00Z'), tenure: 5, spend: 12.5, plan: 'basic', churned: 1 });
    const types = await query(`SELECT name, duckdb_type FROM parquet_schema('${result.files[0]}') WHERE duckdb_type IS NOT NULL`);
    assert.deepEqual(types.map((t) => t.duckdb_type), ['VARCHAR', 'TIMESTAMP', 'DOUBLE', 'DOUBLE', 'VARCHAR', 'DOUBLE']);
  });

  it('imports a feature named date (the partition column name) without confusion', async () => {
    const odd = testSpec({ features: [{ name: 'date', type: 'categorical' }, { name: 'tenure', type: 'numerical' }] });
    const file = write('odd.csv', 'request_id,ts,date,tenure,churned\nx1,2024-03-05T10:00:00Z,2024-01-01,3,1\n');
    const result = await lake.backend.importFile(odd, 'training', file);
    assert.deepEqual(result.partitions, ['2024-03-05']);
    const rows = await query(`SELECT * FROM read_parquet('${result.files[0]}', hive_partitioning = false)`);
    assert.deepEqual(rows, [{ request_id: 'x1', ts: new Date('2024-03-05T10:00:00Z'), date: '2024-01-01', tenure: 3, churned: 1 }]);
  });

  it('imports JSON Lines labels; numeric request ids become text', async () => {
    const file = write(
      'labels.jsonl',
      ['{"request_id": 1, "label": 1, "label_ts": "2024-01-03T00:00:00Z"}', '{"request_id": 2, "label": 0, "label_ts": "2024-01-04T09:00:00+01:00"}'].join('\n'),
    );
    const result = await lake.backend.importFile(spec, 'labels', file);
    assert.equal(result.format, 'jsonl');
    assert.deepEqual([result.rowsWritten, result.partitions], [2, ['2024-01-03', '2024-01-04']]);
    const rows = await query(`SELECT * FROM read_parquet('${lake.backend.layout.kindDir('churn', 'labels')}/*/*.parquet', hive_partitioning = false) ORDER BY request_id`);
    assert.deepEqual(rows, [
      { request_id: '1', label: 1, label_ts: new Date('2024-01-03T00:00:00Z') },
      { request_id: '2', label: 0, label_ts: new Date('2024-01-04T08:00:00Z') },
    ]);
    assert.equal(await lake.backend.countNewLabels(spec, new Date('2024-01-03T12:00:00Z')), 1);
  });

  /** Asserts a refusal: a DataInputError naming the file and the columns, and an untouched lake. */
  async function refused(kind: 'predictions' | 'labels' | 'training', file: string, pattern: RegExp, columns: string[]): Promise<void> {
    await assert.rejects(lake.backend.importFile(spec, kind, file), (err: Error) => {
      assert.ok(err instanceof DataInputError, `expected DataInputError, got ${err}`);
      assert.ok(err.message.includes(file), `message names the file: ${err.message}`);
      assert.match(err.message, pattern);
      for (const c of columns) assert.ok(err.message.includes(c), `message names column ${c}: ${err.message}`);
      return true;
    });
    assert.deepEqual(lakeFiles(), [], 'nothing written');
  }

  it('refuses missing and extra columns, naming them and the file', async () => {
    const file = write('bad-columns.csv', PREDICTIONS_CSV.replace('score', 'colour'));
    await refused('predictions', file, /missing column\(s\) score; extra column\(s\) colour/, ['score', 'colour']);
  });

  it('refuses wrong types in Parquet and JSON Lines', async () => {
    const parquet = await writeParquet('bad-type.parquet', `SELECT 't1' AS request_id, TIMESTAMP '2024-01-01' AS ts, 'ten' AS tenure, 1.0 AS spend, 'pro' AS plan, 1.0 AS churned`);
    await refused('training', parquet, /wrong type: tenure is VARCHAR, expected a number \(numerical feature\)/, ['tenure']);
    const json = write('bad-type.jsonl', '{"request_id": "t1", "ts": "2024-01-01T00:00:00Z", "tenure": 1, "spend": 2, "plan": 3, "churned": 1}\n');
    await refused('training', json, /wrong type: plan is BIGINT, expected text \(categorical feature\)/, ['plan']);
  });

  it('refuses CSV values that do not parse, required values that are empty, unknown variants', async () => {
    const notNumber = write('bad-number.csv', PREDICTIONS_CSV.replace(',3,10.5,', ',three,10.5,'));
    await refused('predictions', notNumber, /column tenure has 1 value\(s\) that are not a number \(numerical feature\) \(e\.g\. "three"\)/, ['tenure']);
    const noTs = write('bad-ts.csv', PREDICTIONS_CSV.replace('2024-01-02 12:00:00', 'noon'));
    await refused('predictions', noTs, /column ts has 1 value\(s\) that are not a timestamp \(e\.g\. "noon"\)/, ['ts']);
    const variant = write('bad-variant.csv', PREDICTIONS_CSV.replace('shadow', 'canary'));
    await refused('predictions', variant, /column variant has 1 value\(s\) other than champion, challenger, shadow \(e\.g\. "canary"\)/, ['variant']);
    const noLabel = write('no-label.csv', 'request_id,label,label_ts\nr1,,2024-01-01\n');
    await refused('labels', noLabel, /column label has 1 empty value\(s\) where one is required/, ['label']);
  });

  it('offers a one-shot import for the CLI that opens and closes the lake', async () => {
    const file = write('cli.jsonl', '{"request_id": "z1", "label": 0, "label_ts": "2024-05-01T00:00:00Z"}\n');
    const result = await importIntoLake(spec, 'labels', file, { dataDir: lake.dir });
    assert.deepEqual([result.rowsWritten, result.partitions, result.kind, result.model], [1, ['2024-05-01'], 'labels', 'churn']);
    assert.equal(await lake.backend.countNewLabels(spec, new Date('2024-04-30T00:00:00Z')), 1);
    await assert.rejects(importIntoLake(spec, 'labels', write('cli-bad.jsonl', '{"request_id": "z1"}\n'), { dataDir: lake.dir }), /missing column\(s\) label, label_ts/);
  });

  it('refuses unreadable files, unknown extensions and missing files', async () => {
    const garbage = write('garbage.parquet', 'this is not parquet');
    await refused('training', garbage, /not a readable parquet file/, []);
    await assert.rejects(lake.backend.importFile(spec, 'training', write('data.xlsx', 'x')), /unknown file type/);
    await assert.rejects(lake.backend.importFile(spec, 'training', path.join(inputs, 'nope.csv')), /nope\.csv: file not found/);
  });
});
