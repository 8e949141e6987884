import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedTool } from '../runtime/temporal-binaries.js';

/**
 * The Temporal dev server writes its banner and its JSON warnings to the terminal it inherits
 * (the SDK starts it with our stdout and stderr), in the middle of the tour's narration. `dev`
 * starts it through a small wrapper that sends both to a log file in the data directory instead.
 * Only a binary on disk can be wrapped (the SDK's own download is found by the SDK), and only
 * where /bin/sh is; otherwise the server keeps the terminal. The wrapper execs the server, so the
 * SDK stops the server itself, not a shell.
 */
export function serverLogged(tool: ResolvedTool, dataDir: string, platform: NodeJS.Platform = process.platform): { tool: ResolvedTool; logFile?: string } {
  if (tool.executable.type !== 'existing-path' || platform === 'win32') return { tool };
  const dir = path.join(dataDir, 'logs');
  const logFile = path.join(dir, 'temporal-server.log');
  const wrapper = path.join(dir, 'temporal-server.sh');
  mkdirSync(dir, { recursive: true });
  writeFileSync(wrapper, `#!/bin/sh\n# Written by retrain dev: the Temporal dev server, its output in the log beside this file.\nexec ${shellQuote(tool.executable.path)} "$@" >>${shellQuote(logFile)} 2>&1\n`);
  chmodSync(wrapper, 0o755);
  return { tool: { ...tool, executable: { type: 'existing-path', path: wrapper } }, logFile };
}

/** A word for /bin/sh: single quotes, with each single quote closed, escaped and reopened. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
