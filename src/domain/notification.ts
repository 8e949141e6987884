/** What runs and monitors tell people; the notify backend formats it (Slack-compatible JSON, log). */

/** Every kind of notification (config/schema.ts lists the same kinds for runbook links). */
export type NotificationKind =
  | 'gates_failed'
  | 'approval_requested'
  | 'approval_escalated'
  | 'approval_timed_out'
  | 'approved'
  | 'rejected'
  | 'rollout_step'
  | 'rolled_back'
  | 'promoted'
  | 'budget_warning'
  | 'retraining_not_paying'
  | 'data_quality'
  | 'online_frozen'
  | 'failed';

export interface Notification {
  kind: NotificationKind;
  model: string;
  title: string;
  details?: Record<string, unknown>;
  /** People to address, e.g. the approvers or the escalation list. */
  audience?: string[];
  workflowId?: string;
}
