import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { listRuns, pipelineStatus } from '../client.js';
import type { ModelSpec } from '../config/schema.js';

/**
 * Tells the person at the terminal what the product is doing and what to do next, by watching the
 * pipelines through visibility (the same view as the web UI) and printing each stage change once.
 */
export function startNarrator(client: Client, models: ModelSpec[], say: (line: string) => void, signal: AbortSignal): Promise<void> {
  const seen = new Map<string, string>();
  const describe = async (spec: ModelSpec, stage: string): Promise<string | undefined> => {
    const m = spec.name;
    switch (stage) {
      case 'budget_check':
        return `${m}: a retrain was triggered (${(await pipelineStatus(client, m)).triggers.join(', ')}); checking the budget`;
      case 'training':
        return `${m}: training a challenger`;
      case 'evaluating':
        return `${m}: scoring champion and challenger on the same holdout`;
      case 'awaiting_approval': {
        const approver = spec.approval.approvers[0] ?? 'you';
        return `${m}: waiting for approval (${(await pipelineStatus(client, m)).approvalReasons.join('; ')})\n    approve with: npx retrain approve ${m} --as ${approver}\n    or reject:    npx retrain reject ${m} --as ${approver} --comment "why"`;
      }
      case 'canary':
        return `${m}: canary on live traffic (${spec.rollout.steps.map((s) => `${s.weight}%`).join(' → ')}); \`npx retrain status ${m}\` shows the analyses`;
      case 'promoted':
        return `${m}: challenger promoted to champion (\`npx retrain ledger ${m}\`)`;
      case 'rolled_back':
        return `${m}: rolled back automatically; the champion keeps all traffic (\`npx retrain status ${m}\`)`;
      case 'rejected': {
        const reason = (await pipelineStatus(client, m)).outcome?.reason ?? 'see `npx retrain status`';
        return `${m}: run rejected: ${reason}\n    the monitor tries again once the ${spec.triggers.cooldown} cooldown is over and a trigger still fires`;
      }
      default:
        return undefined;
    }
  };
  return (async () => {
    while (!signal.aborted) {
      for (const spec of models) {
        try {
          const [latest] = await listRuns(client, { model: spec.name, limit: 1 });
          if (!latest) continue;
          const stage = String(latest.typedSearchAttributes.getAll().find((p) => p.key.name === 'RetrainStage')?.value ?? '');
          const key = `${latest.runId}:${stage}`;
          if (seen.get(spec.name) === key) continue;
          seen.set(spec.name, key);
          const line = await describe(spec, stage);
          if (line) say(line);
        } catch {
          // The server may be restarting; the next round tries again.
        }
      }
      await sleep(2_000, undefined, { signal }).catch(() => undefined);
    }
  })();
}
