import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { activityFailureOf, FAILURE_TYPES, toActivityFailure, withFailureProtocol } from '../../src/activities/failures.js';
import { InjectedFault } from '../../src/activities/fault-points.js';
import { DataInputError } from '../../src/backends/data/types.js';
import { ModelLoadError } from '../../src/backends/models/errors.js';
import { RegistryError } from '../../src/backends/registry/types.js';
import { ServingError } from '../../src/backends/serving/gateway-client.js';
import { DatasetError } from '../../src/backends/training/parquet.js';
import { TrainingError, TrainingInputError } from '../../src/backends/training/types.js';
import { DriftInputError } from '../../src/drift/errors.js';

const timedOut = () => Object.assign(new ServingError('gateway did not answer within 5000 ms', 0), { timedOut: true });

/** Each backend error, and what Temporal must make of it: final with a type, or retried as it is. */
const TABLE: Array<{ error: Error; final: boolean; type?: string; message?: RegExp }> = [
  { error: new RegistryError('hash_mismatch', 'artifact of fraud v3 does not match its hash'), final: true, type: 'Registry:hash_mismatch' },
  { error: new RegistryError('unknown_version', 'fraud has no version 9'), final: true, type: 'Registry:unknown_version' },
  { error: new RegistryError('idempotency_conflict', 'key reused'), final: true, type: 'Registry:idempotency_conflict' },
  { error: new DataInputError('no labelled rows for model fraud'), final: true, type: 'DataInput' },
  { error: new DatasetError('holdout.parquet has no column amount'), final: true, type: 'Dataset' },
  { error: new ModelLoadError('invalid', 'model.json is not a model'), final: true, type: 'ModelLoad:invalid' },
  { error: new ModelLoadError('not_found', 'model.json is missing'), final: true, type: 'ModelLoad:not_found' },
  { error: new TrainingInputError('one class only'), final: true, type: 'TrainingInput' },
  { error: new DriftInputError('reference', 'empty after dropping missing values'), final: true, type: 'DriftInput' },
  { error: new TrainingError('failed', 'trainer exited with code 3', { logTail: ['ValueError: the data is bad'] }), final: true, type: 'TrainingFailed:failed', message: /exited with code 3\n--- trainer output \(tail\) ---\nValueError: the data is bad$/ },
  { error: new TrainingError('crashed', 'trainer was killed by SIGKILL', { nonRetryable: false }), final: false, type: 'TrainingFailed:crashed', message: /^trainer was killed by SIGKILL$/ },
  { error: new TrainingError('hung', 'printed nothing for 2s', { nonRetryable: false }), final: false, type: 'TrainingFailed:hung' },
  { error: new TrainingError('lost', 'Ray no longer knows job retrain-m-ab12-1', { nonRetryable: false }), final: false, type: 'TrainingFailed:lost' },
  { error: new ServingError('gateway answered 404: no challenger', 404), final: true, type: 'ServingRefused' },
  { error: new ServingError('gateway answered 409: version not loaded', 409), final: true, type: 'ServingRefused' },
  { error: new ServingError('gateway answered 503', 503), final: false },
  { error: new ServingError('gateway answered 429', 429), final: false },
  { error: new ServingError('connect ECONNREFUSED', 0), final: false },
  { error: timedOut(), final: false },
  { error: new InjectedFault('injected fault after promote:serving'), final: false },
  { error: new Error('SQLITE_BUSY: database is locked'), final: false },
];

describe('activity failures: one protocol from backend errors to Temporal', () => {
  for (const row of TABLE) {
    const what = `${row.error.name}${'code' in row.error ? `(${String(row.error.code)})` : ''}${'status' in row.error ? ` ${String(row.error.status)}` : ''}: ${row.error.message.split('\n')[0]}`;
    test(`${what} → ${row.final ? `final, ${row.type}` : row.type ? `retried, ${row.type}` : 'retried as it is'}`, () => {
      const out = activityFailureOf(row.error);
      if (row.type === undefined) {
        assert.equal(out, row.error, 'rethrown unchanged, so Temporal retries it');
        return;
      }
      assert.ok(out instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(out)}`);
      assert.equal(out.type, row.type);
      assert.equal(Boolean(out.nonRetryable), row.final);
      assert.match(out.message, row.message ?? new RegExp(`^${row.error.message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    });
  }

  test('an ApplicationFailure an activity threw on purpose passes unchanged', () => {
    const own = ApplicationFailure.nonRetryable('unknown model "x"', 'UnknownModel');
    assert.equal(activityFailureOf(own), own);
    const retryable = ApplicationFailure.retryable('webhook unreachable', 'WebhookUnavailable');
    assert.equal(activityFailureOf(retryable), retryable);
  });

  test('every type in the table is one of FAILURE_TYPES', () => {
    const known = new Set<string>();
    for (const v of Object.values(FAILURE_TYPES)) if (typeof v === 'string') known.add(v);
    for (const row of TABLE.filter((r) => r.type)) {
      const type = row.type!;
      assert.ok(known.has(type) || /^(Registry|ModelLoad|TrainingFailed):[a-z_]+$/.test(type), type);
    }
  });

  test('toActivityFailure throws what the table says', () => {
    assert.throws(() => toActivityFailure(new RegistryError('cross_model', 'v2 belongs to another model')), (err: unknown) => err instanceof ApplicationFailure && err.nonRetryable === true && err.type === 'Registry:cross_model');
    const plain = new Error('lake unreadable');
    assert.throws(() => toActivityFailure(plain), (err: unknown) => err === plain);
  });

  test('withFailureProtocol keeps names, arguments and results, and maps what each activity throws', async () => {
    const acts = withFailureProtocol({
      async add(input: { a: number; b: number }) {
        return input.a + input.b;
      },
      sync: (x: number) => {
        if (x < 0) throw new DataInputError('negative');
        return Promise.resolve(x * 2);
      },
      async refuse() {
        throw new RegistryError('invalid_move', 'no challenger to promote');
      },
      async flaky() {
        throw new ServingError('gateway answered 502', 502);
      },
    });
    assert.deepEqual(Object.keys(acts), ['add', 'sync', 'refuse', 'flaky']);
    assert.equal(await acts.add({ a: 2, b: 3 }), 5);
    assert.equal(await acts.sync(4), 8);
    await assert.rejects(acts.sync(-1), (err: unknown) => err instanceof ApplicationFailure && err.nonRetryable === true && err.type === 'DataInput');
    await assert.rejects(acts.refuse(), (err: unknown) => err instanceof ApplicationFailure && err.type === 'Registry:invalid_move' && err.message === 'no challenger to promote');
    await assert.rejects(acts.flaky(), (err: unknown) => err instanceof ServingError && err.status === 502);
  });
});
