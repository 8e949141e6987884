import { condition, log, workflowInfo } from '@temporalio/workflow';
import type { ApprovalSpec } from '../config/schema.js';
import type { Notification } from '../domain/notification.js';
import type { Decision } from './definitions.js';
import type { DecisionRecord } from '../domain/status.js';
import { normalizePerson, personNameProblem } from '../config/people.js';

/** The client identity a decision came through (what authenticated the caller, where anything did). */
export function viaOf(decision: Decision | undefined): { via?: string } {
  const via = typeof decision?.identity === 'string' ? decision.identity.slice(0, 200) : undefined;
  return via ? { via } : {};
}

/**
 * The human step: a pipeline waits for `approve` or `reject` from someone on the model's allowlist,
 * under an SLA timer. At the SLA it escalates; after the grace period the policy's timeout action
 * decides. Decisions from anyone else, or at the wrong time, are refused and recorded.
 */

export type ApprovalOutcome =
  | { approved: true; by: string; comment?: string }
  | { approved: false; by: string; reason: string };

export class ApprovalDesk {
  private waiting = false;
  private outcome?: ApprovalOutcome;

  constructor(
    private readonly policy: ApprovalSpec,
    private readonly requestedBy: string,
    private readonly record: (entry: DecisionRecord) => void,
  ) {}

  /**
   * Why `by` may not take decisions on this run, or undefined when they may: everyone when the
   * model lists no approvers, else the approvers and the escalation list. Names compare normalised.
   */
  refuseDecider(kind: string, decision: Decision | undefined): string | undefined {
    const problem = personNameProblem(decision?.by);
    if (problem) return `${kind} needs the name of who decides (--as <name>): ${problem}`;
    const by = normalizePerson(decision!.by);
    const allowed = [...this.policy.approvers, ...this.policy.escalateTo].map(normalizePerson);
    if (this.policy.approvers.length > 0 && !allowed.includes(by)) return `${by} is not an approver of this model (approvers: ${this.policy.approvers.join(', ')})`;
    return undefined;
  }

  /** Why a decision cannot be taken now, or undefined when it can. */
  private refusal(kind: 'approve' | 'reject', decision: Decision): string | undefined {
    const notDecider = this.refuseDecider(kind, decision);
    if (notDecider && !normalizePerson(decision?.by)) return notDecider;
    if (!this.waiting) return `${kind} does not apply now: the run is not waiting for approval`;
    if (notDecider) return notDecider;
    const by = normalizePerson(decision.by);
    if (kind === 'approve' && !this.policy.allowSelfApproval && by === normalizePerson(this.requestedBy)) {
      return `${by} requested this run and cannot approve it (allowSelfApproval is off)`;
    }
    return undefined;
  }

  /** Applies a decision if it is allowed; returns the refusal otherwise. Both are recorded, with the caller's client identity when it sent one. */
  decide(kind: 'approve' | 'reject', decision: Decision): string | undefined {
    const refused = this.refusal(kind, decision);
    const by = normalizePerson(decision?.by) || '(nobody)';
    this.record({ at: new Date().toISOString(), kind, by, accepted: !refused, detail: refused ?? decision.comment ?? '', ...viaOf(decision) });
    if (refused) {
      log.warn('Refused an approval decision', { kind, by, reason: refused });
      return refused;
    }
    this.outcome = kind === 'approve' ? { approved: true, by, comment: decision.comment } : { approved: false, by, reason: decision.comment || 'rejected by a reviewer' };
    this.waiting = false;
    return undefined;
  }

  /** Waits for a decision under the SLA, escalating once, then applies the timeout action. */
  async await(reasons: string[], notify: (n: Notification) => Promise<void>, model: string, reportUrl?: string): Promise<ApprovalOutcome> {
    // A run may ask more than once (to train, then whether an unjudged canary step may go on).
    this.outcome = undefined;
    this.waiting = true;
    const { workflowId } = workflowInfo();
    await notify({
      kind: 'approval_requested',
      model,
      title: `${model}: approval needed (${reasons.join('; ')})`,
      audience: this.policy.approvers,
      details: { reasons, sla: this.policy.sla, approveWith: `npx retrain approve ${model} --as <name>`, ...(reportUrl ? { report: reportUrl } : {}) },
      workflowId,
    });
    if (await condition(() => this.outcome !== undefined, this.policy.sla, { summary: `approval SLA ${this.policy.sla}` })) return this.outcome!;

    await notify({
      kind: 'approval_escalated',
      model,
      title: `${model}: approval overdue after ${this.policy.sla}, escalating`,
      audience: this.policy.escalateTo.length > 0 ? this.policy.escalateTo : this.policy.approvers,
      details: { reasons, onTimeout: this.policy.onTimeout, grace: this.policy.escalationGrace },
      workflowId,
    });
    if (await condition(() => this.outcome !== undefined, this.policy.escalationGrace, { summary: `escalation grace ${this.policy.escalationGrace}` })) {
      return this.outcome!;
    }

    this.waiting = false;
    const by = `policy:onTimeout=${this.policy.onTimeout}`;
    this.record({ at: new Date().toISOString(), kind: 'timeout', by, accepted: true, detail: `no decision within ${this.policy.sla} + ${this.policy.escalationGrace}` });
    await notify({ kind: 'approval_timed_out', model, title: `${model}: no approval decision, ${this.policy.onTimeout === 'approve' ? 'approved' : 'rejected'} by policy`, workflowId });
    this.outcome = this.policy.onTimeout === 'approve' ? { approved: true, by } : { approved: false, by, reason: 'approval timed out' };
    return this.outcome;
  }
}

/**
 * Why this run needs a human, if it does: the policy itself, the cost, the budget or a gate that
 * asks for review instead of rejecting.
 */
export function approvalReasons(input: {
  policy: ApprovalSpec;
  estimatedCostUsd: number;
  overBudget: boolean;
  flaggedGates: string[];
}): string[] {
  const reasons: string[] = [];
  const { policy } = input;
  if (policy.when === 'always') reasons.push('policy requires approval for every run');
  if (policy.when === 'cost_above' && input.estimatedCostUsd > policy.costAbove) {
    reasons.push(`estimated cost $${input.estimatedCostUsd.toFixed(2)} is above $${policy.costAbove}`);
  }
  if (input.overBudget) reasons.push('this run would exceed the monthly budget');
  for (const gate of input.flaggedGates) reasons.push(`gate flagged: ${gate}`);
  return reasons;
}
