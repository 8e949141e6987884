import os from 'node:os';
import type { Command } from 'commander';
import { requireModel } from '../models.js';
import { configOption } from '../options.js';

/**
 * `retrain deploy <model> <version>`: a registered version (one trained by hand and registered with
 * `retrain models register`, or an earlier run's) goes through the gates against the champion on the
 * latest holdout, approval when the policy asks, pre-traffic checks and the canary, then is promoted
 * or rolled back, as a retrained challenger is. Steered like a pipeline (status, approve, abort...).
 */
export function registerDeployCommand(program: Command): void {
  program
    .command('deploy <model> <version>')
    .description('roll out a registered version through the gates, approval and canary (answers "already running" if a run is in progress)')
    .option('--reason <text>', 'why, for the history and the ledger', 'manual deployment')
    .option('--as <name>', 'who is asking', process.env.RETRAIN_USER ?? os.userInfo().username)
    .action(async (model: string, versionArg: string, opts: { reason: string; as: string }) => {
      // Loaded on use, not at every start (see main.ts).
      const { BadInputError, RefusedError, emit } = await import('../output.js');
      const version = /^v?(\d+)$/.exec(versionArg.trim());
      if (!version || Number(version[1]) < 1) throw new BadInputError(`version: expected a version number such as 3 or v3, got ${JSON.stringify(versionArg)}`);
      const options = configOption(program);
      const { spec } = await requireModel(options, model);
      const { runtimeSettings } = await import('../../config/settings.js');
      const settings = runtimeSettings();
      // The registry answers at once what the run would only find out later.
      const { openRegistry } = await import('../../backends/registry/open.js');
      const registry = openRegistry(settings);
      try {
        const known = registry.listVersions(spec.name).map((v) => v.version);
        const wanted = Number(version[1]);
        if (!known.includes(wanted)) {
          throw new BadInputError(`version: ${spec.name} has no v${wanted} (${known.length ? `registered: ${known.map((v) => `v${v}`).join(', ')}` : 'no version registered yet'}); register one with \`retrain models register ${spec.name} --artifact <file> --training-data <file>\``);
        }
        if (registry.aliases(spec.name).champion === wanted) throw new RefusedError(`${spec.name} v${wanted} is already the champion: nothing to deploy`);
      } finally {
        registry.close();
      }
      const { startDeployment } = await import('../../client.js');
      const { withClient } = await import('../temporal-client.js');
      const outcome = await withClient((client) => startDeployment(client, settings, spec, { version: Number(version[1]), reason: opts.reason, requestedBy: opts.as }));
      emit(options, outcome, () =>
        outcome.started
          ? `started ${outcome.workflowId} (run ${outcome.runId}): v${version[1]} against the champion on the latest holdout, then ${spec.approval.when === 'always' ? 'approval, ' : ''}the canary; follow with \`retrain status ${spec.name}\``
          : `already running: ${outcome.workflowId} (run ${outcome.alreadyRunning}); nothing started`,
      );
    });
}
