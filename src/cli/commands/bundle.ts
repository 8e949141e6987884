import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';

/** `retrain bundle <file>`: the workflow bundle built ahead, so workers start without bundling. */
export function registerBundleCommand(program: Command): void {
  program
    .command('bundle <file>')
    .description('build the workflow bundle ahead; workers given RETRAIN_WORKFLOW_BUNDLE=<file> then start without bundling')
    .action(async (file: string) => {
      // Loaded on use, not at every start (see main.ts).
      const { bundleWorkflows } = await import('../../worker.js');
      const bundle = await bundleWorkflows();
      await writeFile(file, bundle.code);
      process.stdout.write(`wrote ${file} (${Math.round(bundle.code.length / 1024)} KiB); start workers with RETRAIN_WORKFLOW_BUNDLE=${file}\n`);
    });
}
