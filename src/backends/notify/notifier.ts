import type { Notification } from '../../activities/contracts.js';
import type { Logger } from '../../runtime/logger.js';

/** Where people hear about runs. Every notification is logged; a webhook is optional. */
export interface Notifier {
  send(notification: Notification): Promise<void>;
}

export class NotifyError extends Error {
  override readonly name = 'NotifyError';
}

/**
 * Structured log line plus an optional Slack-compatible incoming webhook ({"text": ...}). A webhook
 * that answers 4xx is a configuration error (not retried); 5xx and network errors are retried by
 * the activity's retry policy.
 */
export class LogAndWebhookNotifier implements Notifier {
  constructor(
    private readonly logger: Logger,
    private readonly webhookUrl?: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async send(n: Notification): Promise<void> {
    this.logger.info({ notification: n }, n.title);
    if (!this.webhookUrl) return;
    const response = await fetch(this.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(slackMessage(n)),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!response.ok) {
      const body = (await response.text()).slice(0, 200);
      throw Object.assign(new NotifyError(`webhook answered ${response.status}: ${body}`), { retryable: response.status >= 500 });
    }
  }
}

/** Slack-compatible JSON: a text fallback plus a short block list people can read on a phone. */
export function slackMessage(n: Notification): { text: string; blocks: object[] } {
  const lines = Object.entries(n.details ?? {})
    .filter(([, v]) => v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `• *${k}*: ${String(v)}`);
  const audience = n.audience?.length ? `\nfor: ${n.audience.join(', ')}` : '';
  const text = `[${n.model}] ${n.title}${audience}`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${n.title}*${audience}` } },
      ...(lines.length ? [{ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } }] : []),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `${n.kind}${n.workflowId ? ` · workflow ${n.workflowId}` : ''}` }] },
    ],
  };
}
