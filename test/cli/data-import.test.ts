import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

/**
 * `retrain data import` as a new user meets it (issue 16): an empty file gets a clear answer
 * naming the columns it needs (not "extra column(s) column0") with its path once; the same file
 * twice is said so and not imported twice; --help lists the columns of each kind.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'retrain-data-import-'));
const env = { RETRAIN_DATA_DIR: path.join(dir, 'data'), RETRAIN_CONFIG: path.resolve('retrain.yaml') };
const labelFiles = () => readdirSync(path.join(dir, 'data', 'lake', 'fraud-detector', 'labels'), { recursive: true }).map(String).filter((f) => f.endsWith('.parquet'));

describe('retrain data import', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('an empty file: exit 2, one line naming the file once and the columns it needs', async () => {
    const file = path.join(dir, 'empty.csv');
    writeFileSync(file, '');
    const { code, stdout, stderr } = await runCli(['data', 'import', 'fraud-detector', '--kind', 'labels', file], env);
    assert.equal(code, 2, stderr);
    assert.equal(stdout, '');
    assert.equal(stderr, `retrain: cannot import ${file}: the file is empty; a labels file for fraud-detector needs the columns request_id, label, label_ts (see retrain data import --help)\n`);
    assert.doesNotMatch(stderr, /column0/);
  });

  it('a refused file names its path once', async () => {
    const file = path.join(dir, 'wrong.csv');
    writeFileSync(file, 'request_id,label\nr1,1\n');
    const { code, stderr } = await runCli(['data', 'import', 'fraud-detector', '--kind', 'labels', file], env);
    assert.equal(code, 2, stderr);
    assert.equal(stderr.split(file).length - 1, 1, stderr);
    assert.match(stderr, /^retrain: cannot import .* as labels for model fraud-detector: missing column\(s\) label_ts/);
  });

  it('the same content twice (under any name) is said so and imported once; --again imports it anyway', async () => {
    const file = path.join(dir, 'labels.csv');
    writeFileSync(file, 'request_id,label,label_ts\nr1,1,2024-01-01T10:00:00Z\nr2,0,2024-01-02T10:00:00Z\n');
    const first = await runCli(['data', 'import', 'fraud-detector', '--kind', 'labels', file], env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'imported 2 labels rows into 2 partition(s); 0 rows with missing features\n');
    const files = labelFiles().length;

    const second = await runCli(['data', 'import', 'fraud-detector', '--kind', 'labels', file], env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`^already imported: ${file} was imported as labels at \\S+ \\(2 rows\\); nothing was imported \\(--again imports it a second time\\)\\n$`));
    const copy = path.join(dir, 'labels-copy.csv');
    copyFileSync(file, copy);
    const renamed = await runCli(['data', 'import', 'fraud-detector', '--kind', 'labels', copy], env);
    assert.match(renamed.stdout, new RegExp(`^already imported: ${copy} has the same content as ${file}, imported as labels`));
    assert.equal(labelFiles().length, files, 'nothing was appended');

    const again = await runCli(['data', 'import', 'fraud-detector', '--kind', 'labels', '--again', file], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^imported 2 labels rows/);
    assert.equal(labelFiles().length, files * 2);
  });

  it('a header without rows imports nothing and says so', async () => {
    const file = path.join(dir, 'header.csv');
    writeFileSync(file, 'request_id,label,label_ts\n');
    const { code, stdout, stderr } = await runCli(['data', 'import', 'fraud-detector', '--kind', 'labels', file], env);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, `${file} has a header but no rows: nothing was imported\n`);
  });

  it('--help lists the columns of each kind, in general and for the config\'s models', async () => {
    const { code, stdout } = await runCli(['data', 'import', '--help'], env);
    assert.equal(code, 0);
    assert.match(stdout, /\n {2}labels {7}request_id, label, label_ts\n/);
    assert.match(stdout, /\n {2}training {5}request_id, ts, <every feature>, <the label>\n/);
    assert.match(stdout, /For fraud-detector \(.*retrain\.yaml\):\n/);
    assert.match(stdout, /\n {2}training {5}request_id, ts, transaction_amount, .*, is_fraud\n/);
    assert.match(stdout, /entity_id\?/);
  });
});
