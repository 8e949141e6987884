import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { MonitorInput, MonitorResult } from '../../workflows/monitor.js';
import { requireModel } from '../models.js';
import { configOption } from '../options.js';
import { withClient } from '../temporal-client.js';

/** `retrain check` (a monitor check now) and `retrain rollback` (back to the previous champion). */
export function registerOperationCommands(program: Command): void {
  program
    .command('check <model>')
    .description('run a monitor check now (drift, performance, volume, age) and start a pipeline if a trigger fires')
    .action(async (model: string) => {
      // Loaded on use, not at every start (see main.ts).
      const { runtimeSettings } = await import('../../config/settings.js');
      const { specRevision } = await import('../../config/revision.js');
      const { emit } = await import('../output.js');
      const options = configOption(program);
      const { spec } = await requireModel(options, model);
      const result = await withClient((client) =>
        client.workflow.execute<(input: MonitorInput) => Promise<MonitorResult>>('monitorModel', {
          taskQueue: runtimeSettings().taskQueues.control,
          workflowId: `retrain-check-${model}-${Date.now()}`,
          args: [{ model: spec.name, configRevision: specRevision(spec) }],
          staticSummary: `manual check of ${model}`,
        }),
      );
      const c = result.check;
      emit(options, result, () =>
        [
          `${model}: ${result.action.replace('_', ' ')} — ${result.detail}`,
          `  window: ${c.window.rows} predictions; drift ${c.drift.verdict} (${c.drift.drifted.length}/${c.drift.evaluatedFeatures} features)`,
          ...c.drift.drifted.map((d) => `    ${d.feature}: ${d.metric} ${d.score.toFixed(4)} (threshold ${d.threshold})`),
          c.performance ? `  ${c.performance.metric} ${c.performance.value.toFixed(4)} on ${c.performance.labels} matured labels` : '  performance: no matured labels yet',
          `  ${c.newLabels} new labels since the last run`,
          ...result.fired.map((f) => `  fired ${f.kind}: ${f.reason}`),
        ].join('\n'),
      );
    });

  program
    .command('rollback <model>')
    .description('make the previous champion the champion again, in the gateway and the registry (with a ledger entry)')
    .option('--as <name>', 'who', process.env.RETRAIN_USER ?? os.userInfo().username)
    .option('--reason <text>', 'why', 'manual rollback')
    .action(async (model: string, opts: { as: string; reason: string }) => {
      const { rollbackChampion } = await import('../../backends/champion-moves.js');
      const { openRegistry } = await import('../../backends/registry/open.js');
      const { RegistryError } = await import('../../backends/registry/types.js');
      const { GatewayClient, ServingError } = await import('../../backends/serving/gateway-client.js');
      const { runtimeSettings } = await import('../../config/settings.js');
      const { adminToken, adminTokenHint } = await import('../admin-token.js');
      const { emit, RefusedError } = await import('../output.js');
      const options = configOption(program);
      const { spec } = await requireModel(options, model);
      const settings = runtimeSettings();
      const registry = openRegistry(settings);
      try {
        // The gateway first: if it cannot load the old model, the registry keeps naming the current one.
        const gateway = new GatewayClient(spec.serving.url ?? settings.gatewayUrl, adminToken(settings.dataDir));
        const { entry } = await rollbackChampion({ registry, serving: gateway }, model, { actor: opts.as, reason: opts.reason });
        emit(options, entry, () => `${model}: champion is v${entry.toVersion} again (was v${entry.fromVersion}); ledger entry ${entry.id}`);
      } catch (err) {
        if (err instanceof RegistryError) throw new RefusedError(err.message);
        if (err instanceof ServingError && (err.status === 401 || err.status === 503)) {
          throw new RefusedError(`the gateway refused the rollback (${gatewayRefusal(err)}); ${adminTokenHint(settings.dataDir)}`);
        }
        throw err;
      } finally {
        registry.close();
      }
    });
}

/** "401 unauthorized: missing bearer token ..." from the gateway client's error, whose message ends in the answer's JSON body. */
function gatewayRefusal(err: { status?: number; message: string }): string {
  const body = /answered \d+: (\{.*\})$/.exec(err.message)?.[1];
  try {
    const parsed = JSON.parse(body ?? '') as { error?: string; message?: string };
    if (parsed.message) return `${err.status} ${parsed.error ?? ''}: ${parsed.message}`.replace(' :', ':');
  } catch {
    // not JSON: the message as it is
  }
  return err.message;
}
