import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DAY, T0, prediction, query, tempLake, testSpec, type Lake } from './helpers.js';

const spec = testSpec();
const window = { from: new Date(T0), to: new Date(T0 + DAY), variant: 'all' as const };

describe('data lake: quarantine of bad files', () => {
  let lake: Lake;
  let partition: string;

  beforeEach(async () => {
    lake = tempLake();
    // 24 good rows on 2024-01-01.
    await lake.backend.appendPredictions(spec, Array.from({ length: 24 }, (_, i) => prediction(i)));
    partition = lake.backend.layout.partitionDir('churn', 'predictions', '2024-01-01');
  });
  afterEach(() => lake.cleanup());

  /** A Parquet file like the writer's, with `select` overriding columns, dropped straight into the partition. */
  async function drop(name: string, select: string): Promise<string> {
    const file = path.join(partition, name);
    await query(`COPY (SELECT * REPLACE (${select}) FROM read_parquet('${partition}/*.parquet', hive_partitioning = false) LIMIT 5) TO '${file}' (FORMAT parquet)`);
    return file;
  }

  function reasonOf(file: string): { reason: string; file: string } {
    const moved = path.join(lake.backend.layout.quarantineDir('churn'), 'predictions', 'date=2024-01-01', path.basename(file));
    assert.ok(existsSync(moved), `${path.basename(file)} moved to quarantine/`);
    assert.ok(!existsSync(file), 'and out of the lake');
    return JSON.parse(readFileSync(`${moved}.reason.json`, 'utf8'));
  }

  it('moves files with a changed schema aside, names the columns, and reads the rest', async () => {
    const typeChanged = await drop('type-changed.parquet', `spend::VARCHAR AS spend`);
    const file = path.join(partition, 'extra-and-missing.parquet');
    await query(`COPY (SELECT * EXCLUDE (plan), 1 AS colour FROM read_parquet('${partition}/*.parquet', hive_partitioning = false) LIMIT 5) TO '${file}' (FORMAT parquet)`);

    const result = await lake.backend.readWindow(spec, window);
    assert.equal(result.rowCount, 24, 'only the good rows');
    assert.equal(result.filesRead, 1);
    const reasons = Object.fromEntries(result.quarantined.map((q) => [path.basename(q.file), q.reason]));
    assert.deepEqual(Object.keys(reasons).sort(), ['extra-and-missing.parquet', 'type-changed.parquet']);
    assert.match(reasons['type-changed.parquet'], /schema drift in predictions\/date=2024-01-01\/type-changed\.parquet: wrong type: spend is VARCHAR, expected DOUBLE/);
    assert.match(reasons['extra-and-missing.parquet'], /missing column\(s\) plan; extra column\(s\) colour/);
    assert.equal(reasonOf(typeChanged).reason, reasons['type-changed.parquet']);
    assert.equal(reasonOf(file).file, file);

    const again = await lake.backend.readWindow(spec, window);
    assert.equal(again.rowCount, 24);
    assert.deepEqual(again.quarantined, [], 'quarantined once, then gone from the lake');
  });

  it('quarantines a truncated file (unreadable footer)', async () => {
    const [good] = readdirSync(partition);
    const truncated = path.join(partition, 'truncated.parquet');
    writeFileSync(truncated, readFileSync(path.join(partition, good)));
    truncateSync(truncated, Math.floor(statSync(truncated).size / 2));

    const result = await lake.backend.readWindow(spec, window);
    assert.equal(result.rowCount, 24);
    assert.equal(result.quarantined.length, 1);
    assert.match(result.quarantined[0].reason, /unreadable Parquet file predictions\/date=2024-01-01\/truncated\.parquet: .*magic bytes/i);
    assert.equal(reasonOf(truncated).reason, result.quarantined[0].reason);
  });

  it('quarantines a file whose pages are corrupted behind an intact footer, found when the read fails', async () => {
    // A bigger file so its data pages span many bytes; scribble over them but keep the footer.
    await lake.backend.appendPredictions(spec, Array.from({ length: 20_000 }, (_, i) => prediction(i % 24, { request_id: `big${i}` })));
    const big = readdirSync(partition)
      .map((n) => path.join(partition, n))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0];
    const bytes = readFileSync(big);
    const footerStart = bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8); // [data][footer][len:4]["PAR1"]
    for (let i = 4; i < footerStart; i++) bytes[i] = (i * 7919) & 0xff;
    writeFileSync(big, bytes);

    const result = await lake.backend.readWindow(spec, window);
    assert.equal(result.rowCount, 24);
    assert.equal(result.quarantined.length, 1);
    assert.match(result.quarantined[0].reason, /^corrupted Parquet file predictions\/date=2024-01-01\//);
    assert.equal(path.basename(result.quarantined[0].file), path.basename(big));
    reasonOf(big);
  });

  it('quarantines a bad labels file during a matured-label join and a dataset build', async () => {
    await lake.backend.appendLabels(spec, Array.from({ length: 24 }, (_, i) => ({ request_id: `r${i}`, label: i % 2, label_ts: new Date(T0 + DAY) })));
    const labelDir = lake.backend.layout.partitionDir('churn', 'labels', '2024-01-02');
    const bad = path.join(labelDir, 'relabelled.parquet');
    await query(`COPY (SELECT request_id, label::VARCHAR AS label, label_ts FROM read_parquet('${labelDir}/*.parquet', hive_partitioning = false)) TO '${bad}' (FORMAT parquet)`);

    const matured = await lake.backend.maturedLabels(spec, { from: new Date(T0), to: new Date(T0 + DAY), asOf: new Date(T0 + 3 * DAY) });
    assert.equal(matured.count, 24);
    assert.equal(matured.quarantined.length, 1);
    assert.match(matured.quarantined[0].reason, /labels\/date=2024-01-02\/relabelled\.parquet: wrong type: label is VARCHAR, expected DOUBLE/);

    await drop('for-dataset.parquet', `tenure::VARCHAR AS tenure`);
    const dataset = await lake.backend.buildDataset(spec, { asOf: new Date(T0 + 3 * DAY) });
    assert.equal(dataset.rowCounts.train + dataset.rowCounts.validation + dataset.rowCounts.holdout, 24);
    assert.deepEqual(dataset.quarantined.map((q) => path.basename(q.file)), ['for-dataset.parquet']);
  });
});
