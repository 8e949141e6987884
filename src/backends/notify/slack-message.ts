import type { Notification } from '../../domain/notification.js';

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
