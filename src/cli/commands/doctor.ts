import type { Command } from 'commander';
import type { TemporalTool } from '../../runtime/temporal-binaries.js';
import { configOption } from '../options.js';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('show which Temporal binaries and server this machine would use, and whether the server answers')
    .option('--no-install', 'do not install the pinned binaries when they are missing')
    .action(async (opts: { install: boolean }) => {
      // Loaded on use, not at every start (see main.ts).
      const { connectClient, temporalTarget } = await import('../../runtime/connection.js');
      const { resolveTemporalTool } = await import('../../runtime/temporal-binaries.js');
      const { emit } = await import('../output.js');
      const options = configOption(program);
      const tools = (['cli', 'test-server'] as TemporalTool[]).map((tool) => {
        try {
          return { tool, ok: true, description: resolveTemporalTool(tool, { install: opts.install }).description };
        } catch (err) {
          return { tool, ok: false, description: (err as Error).message };
        }
      });
      const target = temporalTarget();
      let server: { address: string; namespace: string; reachable: boolean; error?: string };
      try {
        const client = await connectClient(target, '4s');
        await client.workflowService.getSystemInfo({});
        await client.connection.close();
        server = { address: target.address, namespace: target.namespace, reachable: true };
      } catch (err) {
        server = { address: target.address, namespace: target.namespace, reachable: false, error: (err as Error).message.split('\n')[0] };
      }
      emit(options, { tools, server }, () =>
        [...tools.map((t) => `${t.ok ? '✔' : '✘'} ${t.description}`), `${server.reachable ? '✔' : '✘'} Temporal server ${server.address} (namespace ${server.namespace})${server.error ? `: ${server.error}` : ''}`].join('\n'),
      );
      if (!tools.every((t) => t.ok)) process.exitCode = 5;
    });
}
