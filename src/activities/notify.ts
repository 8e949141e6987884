import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { slackMessage } from '../backends/notify/slack-message.js';
import { canonicalJson } from '../config/revision.js';
import type { Backends } from './backends.js';
import type { Notification, PipelineActivities } from './contracts.js';

/**
 * The notify activity: every notification is logged, and POSTed to `notify.webhookUrl` when one is
 * set, as a Slack-compatible message or as the plain notification (`notify.format`). Each POST
 * carries an Idempotency-Key that a retry repeats, so a receiver can drop the copy a retry sends.
 * A webhook that is down (5xx, timeout, no connection) throws a retryable error and the workflow's
 * bounded retry policy tries again; one that refuses (4xx) is a configuration error, never retried.
 */

/** A notification as sent: the model's runbook for its kind, looked up by the worker, never carried by a workflow. */
export type SentNotification = Notification & { runbook?: string };

export type WebhookFormat = 'slack' | 'json';

/** Long enough for a slow receiver, short enough that a dead one costs a run seconds, not minutes. */
const WEBHOOK_TIMEOUT_MS = 10_000;

export function notifyActivities(
  b: Pick<Backends, 'config' | 'logger' | 'specs'>,
  options: { timeoutMs?: number } = {},
): Pick<PipelineActivities, 'notify'> {
  const logger = b.logger.child({ component: 'notify' });
  const { webhookUrl, format } = b.config.notify;
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  return {
    async notify(notification) {
      const runbook = runbookFor(b.specs, notification);
      const sent: SentNotification = runbook ? { ...notification, runbook } : notification;
      logger.info({ notification: sent }, sent.title);
      if (!webhookUrl) return;
      // The run id is the same on every attempt of this activity and tells apart runs that share a workflow id
      // (absent for an activity no workflow started: the notification alone makes the key).
      const key = idempotencyKey(notification, Context.current().info.workflowExecution?.runId);
      await postWebhook(webhookUrl, webhookBody(sent, format), key, timeoutMs);
    },
  };
}

/**
 * The model's runbook for this kind of notification, from the worker's own config. A model the
 * worker no longer declares still gets its notification, without a runbook.
 */
function runbookFor(specs: Backends['specs'], n: Notification): string | undefined {
  let runbooks;
  try {
    runbooks = specs.require(n.model).spec.runbooks;
  } catch {
    return undefined;
  }
  // Indexed by the contract's kind: a kind added there without a runbook key in the schema does not compile.
  return runbooks?.[n.kind];
}

/**
 * `<workflow id>:<kind>:<hash>`: the hash covers the whole notification and the run, so a retry sends
 * the same key, and another notification, or the same one from a later run, a different key.
 */
export function idempotencyKey(n: Notification, runId?: string): string {
  const hash = createHash('sha256')
    .update(canonicalJson({ runId, workflowId: n.workflowId, model: n.model, kind: n.kind, title: n.title, details: n.details, audience: n.audience }))
    .digest('hex')
    .slice(0, 32);
  // Header-safe whatever the id holds.
  const source = (n.workflowId ?? n.model).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
  return `${source}:${n.kind}:${hash}`;
}

/** The request body: Slack's incoming-webhook shape, or the notification itself for receivers of your own. */
export function webhookBody(n: SentNotification, format: WebhookFormat): object {
  if (format === 'json') return n;
  const message = slackMessage(n);
  if (!n.runbook) return message;
  return {
    text: `${message.text}\nRunbook: ${n.runbook}`,
    blocks: [...message.blocks, { type: 'section', text: { type: 'mrkdwn', text: `Runbook: <${n.runbook}>` } }],
  };
}

async function postWebhook(url: string, body: object, key: string, timeoutMs: number): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
      // A redirect would turn the POST into a GET elsewhere: it is answered below as a refusal.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    // Never the URL in a message: an incoming-webhook URL is a secret.
    throw ApplicationFailure.retryable(`webhook unreachable: ${describeFetchError(err, timeoutMs)}`, 'WebhookUnavailable');
  }
  const answer = await response.text().then(
    (text) => text.slice(0, 200),
    (err: unknown) => `(body not read: ${describeFetchError(err, timeoutMs)})`,
  );
  if (response.ok) return;
  // Rate limits and request timeouts are the receiver's passing state, not a refusal.
  if (response.status >= 500 || response.status === 408 || response.status === 429) {
    throw ApplicationFailure.retryable(`webhook answered ${response.status}: ${answer}`, 'WebhookUnavailable', { status: response.status });
  }
  throw ApplicationFailure.nonRetryable(`webhook refused the notification with ${response.status}: ${answer} (check notify.webhookUrl)`, 'NotifyRejected', { status: response.status });
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}
