import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { Notification } from '../../src/activities/contracts.js';
import { notifyActivities } from '../../src/activities/notify.js';
import { reportWriter } from '../../src/activities/reports.js';
import { SpecCatalog } from '../../src/activities/spec-catalog.js';
import { SqliteRegistry } from '../../src/backends/registry/sqlite.js';
import { parseConfig } from '../../src/config/load.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { createLogger } from '../../src/runtime/logger.js';

/**
 * The notify activity against a real HTTP receiver on 127.0.0.1: what each format POSTs, the
 * idempotency key a retry repeats, which answers are retried and which refuse for good, and how
 * long a receiver that never answers can hold an attempt.
 */
const RUNBOOK = 'https://wiki.example.com/runbooks/card-fraud-failed';

interface Received {
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** A webhook receiver answering each POST with the next scripted status (200 when none is left); `hang` never answers. */
class Receiver {
  received: Received[] = [];
  answers: Array<number | 'hang'> = [];
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (text += chunk));
      req.on('end', () => {
        this.received.push({ headers: req.headers, body: JSON.parse(text) });
        const answer = this.answers.shift() ?? 200;
        if (answer === 'hang') return;
        res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? 'ok' : answer < 500 ? 'invalid_payload' : 'upstream down');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/hooks/retrain`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const receiver = new Receiver();
let webhookUrl: string;
const dataDir = mkdtempSync(path.join(tmpdir(), 'retrain-notify-'));
const registry = new SqliteRegistry({ path: path.join(dataDir, 'registry.db') });
const logger = createLogger({ level: 'warn', pretty: false, destination: process.stderr });
after(() => registry.close());

/** The notify activity as the worker builds it, for a config with this webhook and format. */
function notifier(format: 'slack' | 'json', timeoutMs?: number) {
  const config = parseConfig(`
notify: { webhookUrl: "${webhookUrl}", format: ${format} }
models:
  - name: card-fraud
    task: binary_classification
    features: [{ name: amount, type: numerical }]
    label: { name: is_fraud }
    runbooks: { failed: "${RUNBOOK}" }
`);
  return notifyActivities({ config, logger, specs: new SpecCatalog(config, registry) }, { timeoutMs });
}

/** Runs the activity as Temporal would, in the run `runId` of workflow retrain-card-fraud. */
function send(acts: ReturnType<typeof notifier>, n: Notification, runId = 'run-1'): Promise<void> {
  // The failures are what these tests expect: the worker's "Activity failed" warning is not printed.
  const env = new MockActivityEnvironment({ attempt: 1, workflowExecution: { workflowId: 'retrain-card-fraud', runId } }, { logger: new DefaultLogger('ERROR') });
  return env.run(acts.notify, n);
}

const failed: Notification = {
  kind: 'failed',
  model: 'card-fraud',
  title: 'card-fraud: run failed at training: trainer exited with code 1',
  details: { stage: 'training', error: 'trainer exited with code 1' },
  workflowId: 'retrain-card-fraud',
};
const promoted: Notification = { kind: 'promoted', model: 'card-fraud', title: 'card-fraud v3 is the champion', details: { by: 'alice' }, workflowId: 'retrain-card-fraud' };

/** The ApplicationFailure an activity call threw, checked for its retryability and type. */
function failure(retryable: boolean, type: string, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    assert.equal(Boolean(err.nonRetryable), !retryable);
    assert.equal(err.type, type);
    assert.match(err.message, message);
    assert.doesNotMatch(err.message, /127\.0\.0\.1/, 'the webhook URL (a secret) is not in the message');
    return true;
  };
}

describe('notify activity → webhook (real HTTP receiver)', () => {
  before(async () => {
    webhookUrl = await receiver.start();
  });
  beforeEach(() => {
    receiver.received = [];
    receiver.answers = [];
  });
  after(() => receiver.stop());

  it('slack: a text line per notification, blocks, and the runbook of its kind as a "Runbook:" line', async () => {
    const acts = notifier('slack');
    await send(acts, failed);
    await send(acts, promoted);
    const [withRunbook, without] = receiver.received;
    assert.equal(withRunbook.headers['content-type'], 'application/json');
    const body = withRunbook.body as { text: string; blocks: Array<{ type: string; text?: { text: string } }> };
    assert.equal(body.text, `[card-fraud] ${failed.title}\nRunbook: ${RUNBOOK}`);
    assert.ok(body.blocks.some((b) => b.text?.text === `Runbook: <${RUNBOOK}>`));
    assert.ok(body.blocks.some((b) => b.text?.text.includes('*stage*: training')));
    // The model has no runbook for promotions: no line for it.
    assert.equal((without.body as { text: string }).text, `[card-fraud] ${promoted.title}`);
  });

  it('json: the whole notification object, with its runbook', async () => {
    await send(notifier('json'), failed);
    assert.deepEqual(receiver.received[0].body, { ...failed, runbook: RUNBOOK });
  });

  it('the Idempotency-Key is the same for a second send of one notification, different for another notification or another run', async () => {
    const acts = notifier('slack');
    await send(acts, failed);
    await send(acts, failed);
    await send(acts, { ...failed, title: `${failed.title} (again)` });
    await send(acts, failed, 'run-2');
    const keys = receiver.received.map((r) => r.headers['idempotency-key']);
    assert.match(String(keys[0]), /^retrain-card-fraud:failed:[0-9a-f]{32}$/);
    assert.equal(keys[1], keys[0]);
    assert.notEqual(keys[2], keys[0]);
    assert.notEqual(keys[3], keys[0]);
  });

  it('500 then 200: a retryable failure, then the retry delivers with the same key', async () => {
    const acts = notifier('slack');
    receiver.answers = [500, 200];
    await assert.rejects(send(acts, failed), failure(true, 'WebhookUnavailable', /^webhook answered 500: upstream down$/));
    await send(acts, failed);
    assert.equal(receiver.received.length, 2);
    assert.equal(receiver.received[1].headers['idempotency-key'], receiver.received[0].headers['idempotency-key']);
  });

  it('400: refused for good (non-retryable, with the status); 429 is a rate limit and retried', async () => {
    const acts = notifier('slack');
    receiver.answers = [400, 429];
    await assert.rejects(send(acts, failed), (err: unknown) => {
      failure(false, 'NotifyRejected', /webhook refused the notification with 400: invalid_payload/)(err);
      assert.deepEqual((err as ApplicationFailure).details, [{ status: 400 }]);
      return true;
    });
    await assert.rejects(send(acts, failed), failure(true, 'WebhookUnavailable', /answered 429/));
  });

  it('a receiver that never answers costs one attempt its timeout, then a retryable failure', async () => {
    receiver.answers = ['hang'];
    const started = Date.now();
    await assert.rejects(send(notifier('slack', 300), failed), failure(true, 'WebhookUnavailable', /^webhook unreachable: no answer within 300 ms$/));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 250 && elapsed < 3_000, `gave up after ${elapsed} ms`);
    assert.equal(receiver.received.length, 1);
  });

  it('nothing listening: a retryable failure naming the connection error', async () => {
    const closed = new Receiver();
    const url = await closed.start();
    await closed.stop();
    const config = parseConfig(`
notify: { webhookUrl: "${url}" }
models:
  - { name: card-fraud, task: binary_classification, features: [{ name: amount, type: numerical }], label: { name: is_fraud } }
`);
    const acts = notifyActivities({ config, logger, specs: new SpecCatalog(config, registry) });
    await assert.rejects(send(acts, failed), failure(true, 'WebhookUnavailable', /^webhook unreachable: ECONNREFUSED$/));
  });
});

describe('runbooks in the run report', () => {
  it('lists the model’s runbooks from the worker’s config, never from the payload', async () => {
    const config = parseConfig(`
models:
  - name: card-fraud
    task: binary_classification
    features: [{ name: amount, type: numerical }]
    label: { name: is_fraud }
    runbooks: { failed: "${RUNBOOK}", rolled_back: "https://wiki.example.com/rollback?a=1&b=2" }
`);
    const settings = { ...runtimeSettings(), dataDir };
    const reports = reportWriter({ settings, logger, specs: new SpecCatalog(config, registry) });
    const written = await reports.pipeline({
      model: 'card-fraud',
      workflowId: 'retrain-card-fraud',
      runId: 'run-report-1',
      trigger: { kinds: ['manual'], reasons: [] },
      startedAt: '2026-01-01T00:00:00.000Z',
      outcome: { result: 'failed', reason: 'trainer exited with code 1' },
      runbooks: { failed: 'javascript:alert(1)' },
    });
    assert.ok(written);
    const html = readFileSync(written.path, 'utf8');
    assert.match(html, /<dt>Runbooks<\/dt><dd><a href="https:\/\/wiki\.example\.com\/runbooks\/card-fraud-failed" rel="noreferrer">failed<\/a>, <a href="https:\/\/wiki\.example\.com\/rollback\?a=1&amp;b=2" rel="noreferrer">rolled back<\/a><\/dd>/);
    assert.doesNotMatch(html, /javascript:/);
  });
});
