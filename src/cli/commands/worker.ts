import type { Command } from 'commander';
import { configOption } from '../options.js';
import { contextOrPortError, metricsPort, refuseOtherStack } from '../process-start.js';
import { onShutdownSignal } from '../shutdown.js';

/** `retrain worker`: the worker alone, against a Temporal server it does not start. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run the worker against the Temporal server named by TEMPORAL_ADDRESS / the envconfig profile')
    .option('--queues <queues>', 'task queues to serve: control, training or both', 'control,training')
    .action(async (opts: { queues: string }) => {
      // Loaded on use, not at every start (see main.ts).
      const { ConfigError } = await import('../../config/load.js');
      const queues = opts.queues.split(',').map((q) => q.trim());
      const unknown = queues.filter((q) => q !== 'control' && q !== 'training');
      if (unknown.length > 0 || queues.length === 0) throw new ConfigError('--queues', [`expected control, training or both, got "${opts.queues}"`]);
      const { startWorkerProcess } = await import('../../processes.js');
      // Before the Temporal Runtime is installed: once it is, a refusal would not end the process.
      // The metrics port first (a local fact), then whose server this is.
      const { runtimeSettings } = await import('../../config/settings.js');
      const { portProblems } = await import('../../runtime/dev-server.js');
      const problems = await portProblems([metricsPort(runtimeSettings())]);
      if (problems.length > 0) throw new ConfigError('environment', problems);
      await refuseOtherStack(runtimeSettings().dataDir);
      const ctx = await contextOrPortError(configOption(program), 'worker');
      const { workers, done } = await startWorkerProcess(ctx, undefined, queues as Array<'control' | 'training'>);
      onShutdownSignal(
        async () => {
          for (const w of workers) w.shutdown();
          await done;
        },
        { logger: ctx.logger },
      );
      await done;
    });
}
