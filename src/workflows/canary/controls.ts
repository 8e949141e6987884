import type { ControlAction, Decision } from '../definitions.js';
import type { Stage } from '../../domain/status.js';
import { normalizePerson } from '../../config/people.js';

/**
 * Pause, resume, abort and promote: the rules in one place (who may, and when), as the
 * safe-message-handlers sample keeps them. `refusal` answers an update's validator and a
 * signal's check alike; `apply` changes only this object, which the canary loop watches.
 */
export class CanaryControls {
  paused = false;
  abort?: { by: string; reason: string };
  promoteNow?: { by: string; reason: string };

  constructor(
    private readonly stage: () => Stage,
    /** Why this person may not move traffic on this run (the approver list), or undefined. */
    private readonly refuseDecider: (kind: ControlAction, decision: Decision | undefined) => string | undefined,
  ) {}

  get interrupted(): boolean {
    return this.abort !== undefined || this.promoteNow !== undefined;
  }

  /** Why `action` is refused now, or undefined; `decider` replaces the approver check (the update validator passes its own). */
  refusal(action: ControlAction, decision: Decision | undefined, decider = this.refuseDecider): string | undefined {
    const refused = decider(action, decision);
    if (refused) return refused;
    const stage = this.stage();
    const rolling = stage === 'canary' || stage === 'shadow';
    const applies = action === 'promote' ? stage === 'canary' : action === 'resume' ? rolling && this.paused : rolling;
    return applies ? undefined : `${action} does not apply in stage ${stage}${action === 'resume' && rolling ? ' (not paused)' : ''}`;
  }

  apply(action: ControlAction, decision: Decision): void {
    const by = normalizePerson(decision.by);
    if (action === 'pause') this.paused = true;
    else if (action === 'resume') this.paused = false;
    else if (action === 'abort') this.abort = { by, reason: decision.comment || 'aborted' };
    else this.promoteNow = { by, reason: decision.comment || 'promoted early' };
  }
}
