/**
 * `npx tsx scripts/install-python-peers.ts`: puts the Python peers of `npm run bench:decisions`
 * (river, Evidently, scikit-learn and their data stack, pinned) into a venv at .tools/peers-venv,
 * then prints which python the benchmark will use.
 *
 * Idempotent: the venv keeps a marker file with the pin list; when it matches and every pinned
 * distribution reports the pinned version, nothing is installed. Exits non-zero with the reason
 * when python3, venv or pip fails.
 *
 *   env: RETRAIN_TOOLS_DIR   another tools folder (default <repo>/.tools)
 *        RETRAIN_PYTHON      the python that creates the venv (default python3)
 *   --force                  reinstall even when the marker matches
 *
 * The harness can import { ensurePythonPeers, peersPython } instead of shelling out to this file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { toolsDir } from '../src/runtime/temporal-binaries.js';

/**
 * Exact versions, checked to install together on Python 3.11 (manylinux wheels). Evidently 0.7
 * needs pandas < 3; scipy is pinned too because Evidently's drift tests and river use it, so an
 * unpinned scipy could move the numbers.
 */
export const PEER_PINS = {
  river: '0.26.1',
  evidently: '0.7.23',
  numpy: '2.4.6',
  pandas: '2.3.3',
  pyarrow: '26.0.1',
  'scikit-learn': '1.9.1',
  scipy: '1.17.1',
} as const;

const MARKER = '.retrain-peers.json';

export function peersVenvDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(toolsDir(env), 'peers-venv');
}

export function peersPython(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(peersVenvDir(env), 'bin', 'python');
}

function pinList(): string[] {
  return Object.entries(PEER_PINS).map(([name, version]) => `${name}==${version}`);
}

export interface PeersInstallResult {
  ok: boolean;
  /** 'present' (marker and versions matched), 'installed', or 'failed'. */
  action: 'present' | 'installed' | 'failed';
  python: string;
  venv: string;
  message: string;
}

/** Versions the venv's python reports for every pinned distribution, or undefined if it cannot run. */
function installedVersions(py: string): Record<string, string | null> | undefined {
  const code = [
    'import json, sys',
    'from importlib.metadata import version, PackageNotFoundError',
    'out = {}',
    'for n in sys.argv[1:]:',
    '    try: out[n] = version(n)',
    '    except PackageNotFoundError: out[n] = None',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync(py, ['-c', code, ...Object.keys(PEER_PINS)], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as Record<string, string | null>;
  } catch {
    return undefined;
  }
}

function satisfied(venv: string, py: string): boolean {
  const marker = path.join(venv, MARKER);
  if (!existsSync(py) || !existsSync(marker)) return false;
  try {
    const recorded = JSON.parse(readFileSync(marker, 'utf8')) as { pins?: string[] };
    if (JSON.stringify(recorded.pins) !== JSON.stringify(pinList())) return false;
  } catch {
    return false;
  }
  const versions = installedVersions(py);
  return !!versions && Object.entries(PEER_PINS).every(([name, v]) => versions[name] === v);
}

function lastLines(text: string, n = 15): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

export function ensurePythonPeers(options: { env?: NodeJS.ProcessEnv; force?: boolean; quiet?: boolean } = {}): PeersInstallResult {
  const env = options.env ?? process.env;
  const venv = peersVenvDir(env);
  const py = peersPython(env);
  const log = (line: string) => {
    if (!options.quiet) console.log(line);
  };
  const fail = (message: string): PeersInstallResult => ({ ok: false, action: 'failed', python: py, venv, message });

  if (!options.force && satisfied(venv, py)) {
    return { ok: true, action: 'present', python: py, venv, message: `peers already installed in ${venv} (${pinList().join(' ')})` };
  }

  const basePython = env.RETRAIN_PYTHON ?? 'python3';
  if (!existsSync(py)) {
    log(`creating venv ${venv} with ${basePython} -m venv ...`);
    const mk = spawnSync(basePython, ['-m', 'venv', venv], { encoding: 'utf8', env });
    if (mk.status !== 0 || !existsSync(py)) {
      const why = mk.error ? String(mk.error) : lastLines(`${mk.stdout ?? ''}${mk.stderr ?? ''}`);
      rmSync(venv, { recursive: true, force: true });
      return fail(`${basePython} -m venv ${venv} failed (is python3 with the venv module installed?):\n${why}`);
    }
  }

  // The marker goes only after a successful install, so a half-done install is retried next time.
  rmSync(path.join(venv, MARKER), { force: true });
  log(`pip installing ${pinList().join(' ')} (first run takes a minute or two) ...`);
  const pip = spawnSync(py, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', ...(options.quiet ? ['-q'] : []), ...pinList()], {
    encoding: 'utf8',
    env: { ...env, PIP_ROOT_USER_ACTION: 'ignore' },
    stdio: options.quiet ? 'pipe' : ['ignore', 'inherit', 'pipe'],
  });
  if (pip.status !== 0) {
    const why = pip.error ? String(pip.error) : lastLines(pip.stderr ?? '');
    return fail(`pip could not install the peers into ${venv} (needs access to PyPI or a wheel mirror):\n${why}`);
  }

  const versions = installedVersions(py);
  const wrong = Object.entries(PEER_PINS).filter(([name, v]) => versions?.[name] !== v);
  if (wrong.length > 0) {
    return fail(`after pip install, these do not report the pinned version: ${wrong.map(([n, v]) => `${n} (want ${v}, have ${versions?.[n] ?? 'none'})`).join(', ')}`);
  }
  writeFileSync(path.join(venv, MARKER), JSON.stringify({ pins: pinList(), installedAt: new Date().toISOString() }, null, 2) + '\n');
  return { ok: true, action: 'installed', python: py, venv, message: `installed ${pinList().join(' ')} into ${venv}` };
}

function main(): void {
  const result = ensurePythonPeers({ force: process.argv.includes('--force') });
  if (!result.ok) {
    console.error(result.message);
    process.exitCode = 1;
    return;
  }
  console.log(result.message);
  console.log(`python for bench:decisions: ${result.python}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
