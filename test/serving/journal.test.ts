import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { instanceHost, Journal, parseSegment, readJournalDir } from '../../src/serving/journal.js';
import { LakeLog } from '../../src/serving/lake-log.js';
import type { LakeSink, LogRow } from '../../src/serving/lake-sink.js';
import { deploy, features, predict, quiet, startTestGateway, testEnv } from './helpers.js';
import { predictionRowsByRequest } from '../helpers/evidence.js';

const line = (json: string) => `${(crc32(json) >>> 0).toString(16).padStart(8, '0')} ${json}\n`;

/** A pid no process has: a child that already exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

describe('journal framing', () => {
  test('a torn last record and a record with a bad checksum are skipped; the rest is read', () => {
    const good1 = line(JSON.stringify([1, 'predictions', 'm', ['a', 1]]));
    const good2 = line(JSON.stringify([2, 'labels', 'm', ['a', 1, 2]]));
    const badChecksum = `00000000 ${JSON.stringify([3, 'predictions', 'm', ['b', 1]])}\n`;
    const torn = line(JSON.stringify([4, 'predictions', 'm', ['c', 1]])).slice(0, 20);
    const parsed = parseSegment(good1 + badChecksum + good2 + torn);
    assert.deepEqual(
      parsed.records.map((r) => r.seq),
      [1, 2],
    );
    assert.equal(parsed.corrupt, 1);
    assert.equal(parsed.tornBytes, 20);
    assert.deepEqual(parsed.records[1], { seq: 2, kind: 'labels', model: 'm', row: ['a', 1, 2] });
  });

  test('a record without its newline is torn and refused; newlines inside values are escaped by JSON', () => {
    const full = line(JSON.stringify([1, 'predictions', 'm', ['a', 1.5, 'x\ny']]));
    assert.equal(parseSegment(full).records[0].row[2], 'x\ny', 'newlines inside values are escaped by JSON');
    assert.equal(parseSegment(full.slice(0, -1)).records.length, 0);
  });

  test('appends, flushes with one write, rotates by age and deletes only retirable sealed segments', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'retrain-journal-'));
    let retirable = false;
    const journal = new Journal<number>({ root, fsyncMs: 0, segmentMs: 50, log: quiet }, () => 7, (s) => retirable && s.mark === 7);
    try {
      journal.append('predictions', 'm', ['r1', 1]);
      journal.append('predictions', 'm', ['r2', 2]);
      assert.equal(readJournalDir(journal.dir).records.length, 0, 'nothing written before flush');
      journal.flush();
      assert.deepEqual(
        readJournalDir(journal.dir).records.map((r) => r.row[0]),
        ['r1', 'r2'],
      );
      await new Promise((r) => setTimeout(r, 80));
      journal.maintain(); // rotates: the first segment is sealed, not retirable yet
      journal.append('labels', 'm', ['r1', 1, 3]);
      journal.flush();
      assert.equal(readdirSync(journal.dir).length, 2);
      retirable = true;
      journal.maintain();
      assert.deepEqual(
        readJournalDir(journal.dir).records.map((r) => r.seq),
        [3],
        'the sealed segment went, the current one stays',
      );
    } finally {
      journal.close(true);
    }
    assert.deepEqual(readdirSync(root), [], 'a clean close removes the directory');
  });
});

describe('lake log settling (what lets the journal retire a segment)', () => {
  test('a mark is settled once every row before it is written, and overflow drops count as gone', async () => {
    const writes: LogRow[][] = [];
    let release: () => void = () => undefined;
    const sink: LakeSink = {
      write: (_t, _m, rows) => {
        writes.push(rows);
        return new Promise((resolve) => (release = () => resolve(rows.length)));
      },
      close: async () => undefined,
    };
    const log = new LakeLog(sink, { deadLetterDir: mkdtempSync(path.join(tmpdir(), 'retrain-dl-')), maxRows: 2, maxDelayMs: 60_000, maxPendingRows: 4 }, { logged() {}, failed() {}, dropped() {} }, quiet);
    log.append('predictions', 'm', ['a']);
    log.append('predictions', 'm', ['b']); // batch [a, b] in flight
    const mark = log.mark();
    assert.equal(log.settledSince(mark), false);
    for (const id of ['c', 'd', 'e', 'f']) log.append('predictions', 'm', [id]); // 6 pending > 4: c, d dropped
    const later = log.mark();
    release();
    await new Promise((r) => setImmediate(r));
    assert.equal(log.settledSince(mark), true);
    assert.equal(log.settledSince(later), false, 'e and f are still queued');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(writes[1], [['e'], ['f']], 'the next batch skips the dropped rows');
    release();
    await new Promise((r) => setImmediate(r));
    assert.equal(log.settledSince(later), true);
  });
});

describe('journal replay at start', () => {
  test('rows of a dead process journal reach the lake exactly once: those already written are skipped, a torn tail is ignored', async () => {
    const env = testEnv();
    const copy = mkdtempSync(path.join(tmpdir(), 'retrain-journal-copy-'));
    const first = await startTestGateway(env, { lakeLog: { maxRows: 1_000, maxDelayMs: 50 } });
    let ids: string[] = [];
    try {
      await deploy(first.url, env, { weight: 30 });
      const answer = await predict<{ predictions: { request_id: string }[] }>(first.url, { instances: Array.from({ length: 300 }, (_, i) => ({ entity_id: `u-${i}`, features: features(i) })) });
      assert.equal(answer.status, 200);
      ids = answer.body.predictions.map((p) => p.request_id);
      // The journal as a kill would leave it: every row journaled, the batch already in the lake.
      await new Promise((r) => setTimeout(r, 600));
      cpSync(first.gateway.ctx.journal!.dir, copy, { recursive: true });
    } finally {
      await first.close();
    }
    const segment = path.join(copy, readdirSync(copy).sort()[0]);
    const journaled = readFileSync(segment, 'utf8').trim().split('\n').length;
    assert.equal(journaled, 300);
    // Two rows that never reached the lake, and a torn record.
    const fresh = ['never-written-1', 'never-written-2'];
    const template = JSON.parse(readFileSync(segment, 'utf8').split('\n')[0].slice(9)) as [number, string, string, LogRow];
    for (const [k, id] of fresh.entries()) appendFileSync(segment, line(JSON.stringify([1_000 + k, 'predictions', template[2], [id, ...template[3].slice(1)]])));
    appendFileSync(segment, line(JSON.stringify([2_000, 'predictions', template[2], ['torn', ...template[3].slice(1)]])).slice(0, 40));
    const orphan = path.join(env.dir, 'serving', 'journal', `gw-${instanceHost()}-${deadPid()}-0badf00d`);
    mkdirSync(path.dirname(orphan), { recursive: true });
    cpSync(copy, orphan, { recursive: true });

    const second = await startTestGateway(env, { lakeLog: { maxRows: 1_000, maxDelayMs: 50 } });
    await second.close();
    assert.deepEqual(readdirSync(path.join(env.dir, 'serving', 'journal')), [], 'the orphan journal was replayed and removed');

    const counts = await predictionRowsByRequest(env.dir, 'fraud-detector');
    for (const id of [...ids, ...fresh]) assert.equal(counts.get(id), 1, `${id} once in the lake`);
    assert.equal(counts.has('torn'), false);
    assert.equal([...counts.values()].reduce((a, b) => a + b, 0), 302);
    env.cleanup();
  });
});


