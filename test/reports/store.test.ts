import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { CheckResult } from '../../src/activities/contracts.js';
import { fileTimestamp, historyPointFromCheck, ReportPathError, ReportStore, type CheckHistoryPoint } from '../../src/reports/index.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'retrain-reports-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
const freshStore = () => new ReportStore(path.join(scratch, `data-${++n}`));

const point = (i: number): CheckHistoryPoint => ({
  checkedAt: new Date(Date.UTC(2024, 4, 1) + i * 60_000).toISOString(),
  driftShare: i / 100, driftedFeatures: i % 3, evaluatedFeatures: 3, rows: 1000 + i,
  performance: { metric: 'accuracy', value: 0.9, labels: 10 },
});

describe('ReportStore', () => {
  it('writes check reports under <dataDir>/reports/<model>/checks with a latest copy', async () => {
    const store = freshStore();
    const file = await store.writeCheck('churn', '2024-05-01T12:00:00.000Z', '<p>first</p>');
    assert.equal(file, path.join(store.root, 'churn', 'checks', '2024-05-01T12-00-00-000Z.html'));
    assert.ok(path.isAbsolute(file));
    assert.equal(store.root, path.resolve(scratch, `data-${n}`, 'reports'));
    assert.equal(readFileSync(file, 'utf8'), '<p>first</p>');
    const latest = path.join(store.root, 'churn', 'latest-check.html');
    assert.equal(readFileSync(latest, 'utf8'), '<p>first</p>');

    await store.writeCheck('churn', '2024-05-01T13:00:00+00:00', '<p>second</p>');
    assert.equal(readFileSync(latest, 'utf8'), '<p>second</p>');
    // A late retry of an older check keeps its own file but leaves the latest copy alone.
    await store.writeCheck('churn', '2024-05-01T12:00:00.000Z', '<p>first again</p>');
    assert.equal(readFileSync(file, 'utf8'), '<p>first again</p>');
    assert.equal(readFileSync(latest, 'utf8'), '<p>second</p>');
    // No temp files are left behind.
    assert.deepEqual(readdirSync(path.join(store.root, 'churn', 'checks')).sort(), ['2024-05-01T12-00-00-000Z.html', '2024-05-01T13-00-00-000Z.html']);
    assert.deepEqual(readdirSync(path.join(store.root, 'churn')).sort(), ['checks', 'latest-check.html']);
  });

  it('writes pipeline reports per workflow (and run) with a latest copy', async () => {
    const store = freshStore();
    const a = await store.writePipeline('churn', 'retrain-churn', '<p>a</p>');
    assert.equal(a, path.join(store.root, 'churn', 'runs', 'retrain-churn.html'));
    const b = await store.writePipeline('churn', 'retrain-churn', '<p>b</p>', '0b7c4e1a-1111');
    assert.equal(b, path.join(store.root, 'churn', 'runs', 'retrain-churn.0b7c4e1a-1111.html'));
    assert.equal(readFileSync(path.join(store.root, 'churn', 'latest-run.html'), 'utf8'), '<p>b</p>');
    assert.equal(readFileSync(a, 'utf8'), '<p>a</p>');
  });

  it('gives URL paths relative to the reports root', async () => {
    const store = freshStore();
    const file = await store.writeCheck('churn', '2024-05-01T12:00:00Z', 'x');
    assert.equal(store.relativeUrl(file), 'churn/checks/2024-05-01T12-00-00-000Z.html');
    assert.equal(store.relativeUrl(path.join(store.root, 'a b', 'latest-check.html')), 'a%20b/latest-check.html');
    assert.throws(() => store.relativeUrl(path.join(store.root, '..', 'registry.db')), ReportPathError);
    assert.throws(() => store.relativeUrl(store.root), ReportPathError);
  });

  it('rejects model names, workflow ids and times that would escape or break the folder', async () => {
    const store = freshStore();
    for (const bad of ['', '..', '../x', 'a/b', 'a\\b', '.hidden', 'x..y', 'nul\u0000', 'c:d']) {
      await assert.rejects(store.writeCheck(bad, '2024-05-01T12:00:00Z', 'x'), (err: Error) => err instanceof ReportPathError && err.message.includes('model name'), `accepted ${JSON.stringify(bad)}`);
    }
    await assert.rejects(store.writePipeline('churn', '../../etc', 'x'), /invalid workflow id/);
    await assert.rejects(store.writePipeline('churn', 'retrain-churn', 'x', 'a/b'), /invalid run id/);
    await assert.rejects(store.appendHistory('../churn', point(1)), ReportPathError);
    await assert.rejects(store.readHistory('a/b'), ReportPathError);
    await assert.rejects(store.pruneChecks('..'), ReportPathError);
    await assert.rejects(store.writeCheck('churn', 'yesterday', 'x'), /not a date/);
    assert.equal(existsSync(store.root), false, 'nothing was written');
    assert.equal(fileTimestamp('2024-05-01T12:00:00.5+02:00'), '2024-05-01T10-00-00-500Z');
  });

  it('appends and reads history, newest N, skipping a truncated last line', async () => {
    const store = freshStore();
    assert.deepEqual(await store.readHistory('churn'), []);
    for (let i = 0; i < 10; i++) await store.appendHistory('churn', point(i));
    assert.deepEqual(await store.readHistory('churn', 3), [point(7), point(8), point(9)]);
    assert.equal((await store.readHistory('churn')).length, 10);

    // A crash mid-append leaves half a line at the end of the file.
    const file = path.join(store.root, 'churn', 'history.jsonl');
    appendFileSync(file, JSON.stringify(point(10)).slice(0, 40));
    assert.deepEqual((await store.readHistory('churn', 3)), [point(7), point(8), point(9)]);
    // The next append starts on a fresh line, so the new point is kept and the torn one skipped.
    await store.appendHistory('churn', point(11));
    assert.deepEqual(await store.readHistory('churn', 2), [point(9), point(11)]);
    assert.equal((await store.readHistory('churn', 100)).length, 11);
    // Corrupt and foreign lines in the middle are skipped too.
    appendFileSync(file, 'not json\n{"hello":1}\n');
    await store.appendHistory('churn', point(12));
    assert.deepEqual(await store.readHistory('churn', 2), [point(11), point(12)]);
  });

  it('reads the newest points from the tail of a long history, and compacts it past its size cap', async () => {
    const store = new ReportStore(path.join(scratch, 'big'), { maxHistoryBytes: 64 * 1024, historyKeep: 100 });
    const dir = path.join(store.root, 'churn');
    await store.appendHistory('churn', point(0));
    // ~3000 lines written directly (faster than appending one by one), crossing several 64 KiB chunks.
    writeFileSync(path.join(dir, 'history.jsonl'), Array.from({ length: 3000 }, (_, i) => JSON.stringify(point(i))).join('\n') + '\n');
    const tail = await store.readHistory('churn', 1500);
    assert.equal(tail.length, 1500);
    assert.deepEqual(tail[0], point(1500));
    assert.deepEqual(tail[1499], point(2999));
    await store.appendHistory('churn', point(3000));
    const all = await store.readHistory('churn', 10_000);
    assert.equal(all.length, 100);
    assert.deepEqual(all[99], point(3000));
    assert.ok(readFileSync(path.join(dir, 'history.jsonl'), 'utf8').endsWith('\n'));
  });

  it('prunes old check reports, keeping the newest N', async () => {
    const store = freshStore();
    for (let i = 0; i < 7; i++) await store.writeCheck('churn', point(i).checkedAt, `<p>${i}</p>`);
    assert.equal(await store.pruneChecks('churn', 3), 4);
    const dir = path.join(store.root, 'churn', 'checks');
    assert.deepEqual(readdirSync(dir).sort(), [4, 5, 6].map((i) => `${fileTimestamp(point(i).checkedAt)}.html`));
    assert.equal(readFileSync(path.join(store.root, 'churn', 'latest-check.html'), 'utf8'), '<p>6</p>');
    assert.equal(await store.pruneChecks('churn'), 0, 'default keeps 500');
    assert.equal(await store.pruneChecks('other', 1), 0, 'a model without reports');
    await assert.rejects(store.pruneChecks('churn', -1), RangeError);
  });

  it('turns a check result into a history point', () => {
    const check: CheckResult = {
      model: 'churn', checkedAt: '2024-05-01T12:00:00.000Z', window: { from: 'a', to: 'b', rows: 321 },
      drift: { verdict: 'drift', evaluatedFeatures: 4, drifted: [{ feature: 'x', metric: 'psi', score: 0.3, threshold: 0.15 }], driftShare: 0.25 },
      performance: { metric: 'accuracy', value: 0.91, labels: 50 }, labelShift: { jensenShannon: 0.04, samples: 50 }, newLabels: 7,
    };
    assert.deepEqual(historyPointFromCheck(check), {
      checkedAt: '2024-05-01T12:00:00.000Z', driftShare: 0.25, driftedFeatures: 1, evaluatedFeatures: 4, verdict: 'drift',
      rows: 321, performance: { metric: 'accuracy', value: 0.91, labels: 50 }, labelShift: 0.04,
    });
  });
});
