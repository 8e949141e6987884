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

  /**
   * Label rows in the lake that arrived after `since`, read from the files themselves (countNewLabels
   * counts only labels that join a logged prediction, which these imports have none of).
   */
  async function labelRowsSince(since: string): Promise<number> {
    const rows = await query(`SELECT count(*)::INTEGER AS n FROM read_parquet('${lake.backend.layout.kindDir('churn', 'labels')}/*/*.parquet', hive_partitioning = false) WHERE label_ts > TIMESTAMP '${since.replace('Z', '')}'`);
    return Number(rows[0].n);
  }

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
    assert.equal((await labelRowsSince('2024-01-03T12:00:00Z')), 1);
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

  describe('the gateway\'s value rules (row-rules.ts), with the first bad row named', () => {
    const HEADER = 'ts,request_id,model_version,variant,tenure,spend,plan,prediction,score,latency_ms';
    const GOOD = '2024-01-01T10:00:00Z,r1,v1,champion,3,10.5,basic,1,0.9,4';

    it('refuses a control character in a category (a NUL byte broke every later read, issue 15)', async () => {
      const csv = write('nul.csv', [HEADER, GOOD, GOOD.replace('r1', 'r2').replace('basic', 'ba\u0000sic')].join('\n'));
      await refused('predictions', csv, /row 2, column plan: contains the control character U\+0000 at position 2 .*; nothing was imported/, ['plan']);
      const row = { ts: '2024-01-01T10:00:00Z', request_id: 'j1', model_version: 'v1', variant: 'champion', tenure: 1, spend: 2, plan: 'tab\there', prediction: 1, score: 0.5 };
      const jsonl = write('tab.jsonl', `${JSON.stringify({ ...row, plan: 'fine' })}\n${JSON.stringify(row)}\n`);
      await refused('predictions', jsonl, /row 2, column plan: contains the control character U\+0009/, ['plan']);
    });

    it('names the right row deep into a large file', async () => {
      const lines = [HEADER];
      for (let i = 1; i <= 5_000; i++) lines.push(GOOD.replace('r1', `r${i}`).replace('basic', i === 4_321 ? 'bad\u007f' : 'basic'));
      await refused('predictions', write('large.csv', lines.join('\n')), /row 4321, column plan: contains the control character U\+007F/, ['plan']);
    });

    it('refuses NaN, infinities and 1e400 in numbers', async () => {
      for (const [value, column, shown] of [
        ['nan', 'tenure', 'NaN'],
        ['inf', 'spend', 'Infinity'],
        ['-Infinity', 'score', '-Infinity'],
        ['1e400', 'spend', 'Infinity'],
      ]) {
        const bad = GOOD.replace('r1', 'r2').split(',');
        bad[HEADER.split(',').indexOf(column)] = value;
        const file = write(`number-${column}-${value}.csv`, [HEADER, GOOD, GOOD, bad.join(',')].join('\n'));
        await refused('predictions', file, new RegExp(`row 3, column ${column}: expected a finite number, got ${shown}`), [column]);
      }
      const parquet = await writeParquet('nan.parquet', `SELECT 't1' AS request_id, TIMESTAMP '2024-01-01' AS ts, 'NaN'::DOUBLE AS tenure, 1.0 AS spend, 'pro' AS plan, 1.0 AS churned`);
      await refused('training', parquet, /row 1, column tenure: expected a finite number, got NaN/, ['tenure']);
    });

    it('refuses labels other than 0/1 for a binary task, and non-finite ones for regression', async () => {
      for (const [value, shown] of [['nan', 'NaN'], ['7', '7'], ['-3.5', '-3.5']]) {
        const file = write(`label-${value}.csv`, `request_id,label,label_ts\nr1,1,2024-01-01\nr2,0,2024-01-01\nr3,${value},2024-01-02\n`);
        await refused('labels', file, new RegExp(`row 3, column label: expected 0, 1, true or false \\(binary classification\\), got ${shown}`), ['label']);
      }
      const training = write('train-label.csv', 'request_id,ts,tenure,spend,plan,churned\nt1,2024-01-01,1,2,pro,2\n');
      await refused('training', training, /row 1, column churned: expected 0, 1, true or false/, ['churned']);

      const regression = testSpec({ task: 'regression' });
      const ok = write('reg-ok.csv', 'request_id,label,label_ts\nr1,-3.5,2024-01-01\nr2,7,2024-01-01\n');
      assert.equal((await lake.backend.importFile(regression, 'labels', ok)).rowsWritten, 2);
      const inf = write('reg-inf.csv', 'request_id,label,label_ts\nr1,inf,2024-01-01\n');
      await assert.rejects(lake.backend.importFile(regression, 'labels', inf), /row 1, column label: expected a finite number \(regression\), got Infinity/);
    });

    it('refuses times in year 1 or 9999', async () => {
      for (const ts of ['0001-01-01T00:00:00Z', '9999-12-31 23:00:00']) {
        const file = write(`time-${ts.slice(0, 4)}.csv`, [HEADER, GOOD, GOOD.replace('2024-01-01T10:00:00Z', ts)].join('\n'));
        await refused('predictions', file, new RegExp(`row 2, column ts: expected a time from 1970-01-01 to before 2100-01-01 \\(UTC\\), got ${ts.slice(0, 4)}-`), ['ts']);
      }
      const labels = write('label-time.jsonl', '{"request_id": "a", "label": 1, "label_ts": "0001-01-01T00:00:00Z"}\n');
      await refused('labels', labels, /row 1, column label_ts: expected a time from 1970-01-01/, ['label_ts']);
    });

    it('refuses ids longer than the gateway accepts; a quote in a category is just data', async () => {
      const long = write('long-id.csv', `request_id,label,label_ts\n${'x'.repeat(300)},1,2024-01-01\n`);
      await refused('labels', long, /row 1, column request_id: expected an id of at most 256 characters, got 300/, ['request_id']);
      const quote = write('quote.csv', [HEADER, GOOD.replace('basic', `"it's"`)].join('\n'));
      assert.equal((await lake.backend.importFile(spec, 'predictions', quote)).rowsWritten, 1);
    });

    it('names every bad column in one message', async () => {
      const file = write('two.csv', [HEADER, GOOD, '2024-01-01T11:00:00Z,r2,v1,champion,nan,10.5,x\u0001,1,0.9,4'].join('\n'));
      await refused('predictions', file, /row 2, column tenure: expected a finite number, got NaN; row 2, column plan: contains the control character U\+0001/, ['tenure', 'plan']);
    });
  });

  it('offers a one-shot import for the CLI that opens and closes the lake', async () => {
    const file = write('cli.jsonl', '{"request_id": "z1", "label": 0, "label_ts": "2024-05-01T00:00:00Z"}\n');
    const result = await importIntoLake(spec, 'labels', file, { dataDir: lake.dir });
    assert.deepEqual([result.rowsWritten, result.partitions, result.kind, result.model], [1, ['2024-05-01'], 'labels', 'churn']);
    assert.equal(await labelRowsSince('2024-04-30T00:00:00Z'), 1);
    await assert.rejects(importIntoLake(spec, 'labels', write('cli-bad.jsonl', '{"request_id": "z1"}\n'), { dataDir: lake.dir }), /missing column\(s\) label, label_ts/);
  });

  it('refuses unreadable files, unknown extensions and missing files', async () => {
    const garbage = write('garbage.parquet', 'this is not parquet');
    await refused('training', garbage, /not a readable parquet file/, []);
    await assert.rejects(lake.backend.importFile(spec, 'training', write('data.xlsx', 'x')), /unknown file type/);
    await assert.rejects(lake.backend.importFile(spec, 'training', path.join(inputs, 'nope.csv')), /nope\.csv: file not found/);
  });
});
