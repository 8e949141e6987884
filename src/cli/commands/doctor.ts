import type { Command } from 'commander';
import type { TemporalTool } from '../../runtime/temporal-binaries.js';
import { configOption } from '../options.js';
import { withClient } from '../temporal-client.js';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('show which Temporal binaries and server this machine would use, and whether the server answers (exit 5 if a check fails)')
    .option('--no-install', 'do not install the pinned binaries when they are missing')
    .action(async (opts: { install: boolean }) => {
      // Loaded on use, not at every start (see main.ts).
      const { temporalTarget } = await import('../../runtime/connection.js');
      const { resolveTemporalTool } = await import('../../runtime/temporal-binaries.js');
      const { emit, EXIT } = await import('../output.js');
      const options = configOption(program);
      // A tool only the SDK's download would provide is a warning: it may still work, with internet.
      const tools = (['cli', 'test-server'] as TemporalTool[]).map((tool) => {
        try {
          const resolved = resolveTemporalTool(tool, { install: opts.install });
          return { tool, ok: true, warning: resolved.source === 'sdk-download', description: resolved.description };
        } catch (err) {
          return { tool, ok: false, warning: false, description: (err as Error).message };
        }
      });
      const target = temporalTarget();
      let server: { address: string; namespace: string; reachable: boolean; error?: string };
      try {
        await withClient((client) => client.workflowService.getSystemInfo({}), { target });
        server = { address: target.address, namespace: target.namespace, reachable: true };
      } catch (err) {
        server = { address: target.address, namespace: target.namespace, reachable: false, error: (err as Error).message.split('\n')[0] };
      }
      const mark = (ok: boolean, warning = false) => (!ok ? '✘' : warning ? '!' : '✔');
      emit(options, { tools, server }, () =>
        [
          ...tools.map((t) => `${mark(t.ok, t.warning)} ${t.description}`),
          `${mark(server.reachable)} Temporal server ${server.address} (namespace ${server.namespace})${server.error ? `: ${server.error}` : ''}`,
        ].join('\n'),
      );
      // Any ✘ fails the command (scripts and CI can gate on it); warnings (!) alone do not.
      if (!tools.every((t) => t.ok) || !server.reachable) process.exitCode = EXIT.unavailable;
    });
}
