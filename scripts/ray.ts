/**
 * The Ray the Ray training backend's tests run against: `ray[default]` (the dashboard, which serves
 * the Jobs REST API, comes with the `default` extra) pinned below, in a venv at .tools/ray. Installed
 * by `npm run tools:install`, or on demand by test/helpers/ray.ts when it is missing. Idempotent: a
 * marker holding the pinned requirement is written last, so a half-done install is redone from scratch.
 */
import { spawnSync, type StdioOptions } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RAY_REQUIREMENT = 'ray[default]==2.60.0';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const RAY_VENV = path.join(ROOT, '.tools', 'ray');
export const RAY_BIN = path.join(RAY_VENV, 'bin', 'ray');
const MARKER = path.join(RAY_VENV, '.installed');

export interface RayInstallResult {
  ok: boolean;
  bin: string;
  /** Seconds the install took (0: it was there). */
  seconds: number;
  message: string;
}

function installed(): boolean {
  return existsSync(RAY_BIN) && existsSync(MARKER) && readFileSync(MARKER, 'utf8').trim() === RAY_REQUIREMENT;
}

/**
 * `python3 -m venv .tools/ray && .tools/ray/bin/python -m pip install 'ray[default]==2.60.0'`
 * (python3 from PYTHON, else the PATH), nothing when the marker matches. One install at a time:
 * a second caller waits for the first one's lock directory to go.
 */
export function installRay(options: { quiet?: boolean } = {}): RayInstallResult {
  const present = (): RayInstallResult => ({ ok: true, bin: RAY_BIN, seconds: 0, message: `${RAY_REQUIREMENT}: ${RAY_VENV}` });
  if (installed()) return present();
  const lock = `${RAY_VENV}.installing`;
  mkdirSync(path.dirname(RAY_VENV), { recursive: true });
  const waitStarted = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 20 * 60_000) rmSync(lock, { recursive: true, force: true }); // an install that died
      if (Date.now() - waitStarted > 20 * 60_000) return { ok: false, bin: RAY_BIN, seconds: 0, message: `waited 20 minutes for another install of ${RAY_REQUIREMENT} (${lock})` };
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000);
    }
  }
  try {
    if (installed()) return present();
    return install(options);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function install(options: { quiet?: boolean }): RayInstallResult {
  const python = process.env.PYTHON ?? 'python3';
  const started = Date.now();
  const stdio: StdioOptions = options.quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit';
  const fail = (what: string, r: ReturnType<typeof spawnSync>): RayInstallResult => {
    const tail = `${r.error?.message ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    return { ok: false, bin: RAY_BIN, seconds: Math.round((Date.now() - started) / 1000), message: `${what} failed (exit ${r.status})${tail ? `:\n${tail}` : ''}` };
  };
  rmSync(RAY_VENV, { recursive: true, force: true });
  const venv = spawnSync(python, ['-m', 'venv', RAY_VENV], { stdio, encoding: 'utf8' });
  if (venv.status !== 0) return fail(`${python} -m venv ${RAY_VENV}`, venv);
  const venvPython = path.join(RAY_VENV, 'bin', 'python');
  const pip = spawnSync('nice', ['-n', '10', venvPython, '-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', RAY_REQUIREMENT], {
    stdio,
    encoding: 'utf8',
    timeout: 20 * 60_000,
  });
  if (pip.status !== 0 || !existsSync(RAY_BIN)) return fail(`pip install '${RAY_REQUIREMENT}' into ${RAY_VENV}`, pip);
  writeFileSync(MARKER, `${RAY_REQUIREMENT}\n`);
  const seconds = Math.round((Date.now() - started) / 1000);
  return { ok: true, bin: RAY_BIN, seconds, message: `${RAY_REQUIREMENT}: installed in ${seconds} s into ${RAY_VENV}` };
}
