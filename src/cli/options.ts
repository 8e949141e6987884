import type { Command } from 'commander';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

/** Global options live on the root program; subcommands read them from there. */
export function configOption(program: Command): GlobalOptions {
  return program.opts<GlobalOptions>();
}
