/**
 * The MLflow tracking server the MLflow registry tests run against: `pip install mlflow==<pinned>`
 * into a virtual environment at .tools/mlflow, by `npm run tools:install` or on demand by
 * test/helpers/mlflow.ts when it is missing. Idempotent: a marker naming the version is written
 * last, so a half-finished install is redone, and one install runs at a time (a lock directory).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MLFLOW_VERSION = '3.17.2';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const MLFLOW_VENV = path.join(ROOT, '.tools', 'mlflow');
export const MLFLOW_BIN = path.join(MLFLOW_VENV, 'bin', 'mlflow');
const MARKER = path.join(MLFLOW_VENV, `.installed-mlflow-${MLFLOW_VERSION}`);

export interface MlflowInstall {
  ok: boolean;
  bin: string;
  /** Seconds the install took (0: it was there). */
  seconds: number;
  message: string;
}

export function installMlflow(options: { quiet?: boolean } = {}): MlflowInstall {
  const present = (): MlflowInstall => ({ ok: true, bin: MLFLOW_BIN, seconds: 0, message: `MLflow ${MLFLOW_VERSION}: ${MLFLOW_BIN}` });
  if (existsSync(MARKER)) return present();
  mkdirSync(path.dirname(MLFLOW_VENV), { recursive: true });
  const lock = `${MLFLOW_VENV}.installing`;
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 20 * 60_000) rmSync(lock, { recursive: true, force: true }); // an install that died
      if (Date.now() - started > 20 * 60_000) return { ok: false, bin: MLFLOW_BIN, seconds: 0, message: `waited 20 minutes for another install of MLflow (${lock})` };
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000);
    }
  }
  try {
    if (existsSync(MARKER)) return present();
    return install(options);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function install(options: { quiet?: boolean }): MlflowInstall {
  const started = Date.now();
  const python = process.env.PYTHON ?? 'python3';
  const steps: Array<[string, string[]]> = [
    [python, ['-m', 'venv', '--clear', MLFLOW_VENV]],
    [path.join(MLFLOW_VENV, 'bin', 'pip'), ['install', '--disable-pip-version-check', '--no-input', `mlflow==${MLFLOW_VERSION}`]],
  ];
  for (const [cmd, args] of steps) {
    const r = spawnSync('nice', ['-n', '10', cmd, ...args], { stdio: options.quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit', encoding: 'utf8' });
    if (r.status !== 0) {
      const tail = `${r.error?.message ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
      return { ok: false, bin: MLFLOW_BIN, seconds: Math.round((Date.now() - started) / 1000), message: `${path.basename(cmd)} ${args.join(' ')} failed (exit ${r.status})${tail ? `:\n${tail}` : ''}` };
    }
  }
  if (!existsSync(MLFLOW_BIN)) return { ok: false, bin: MLFLOW_BIN, seconds: 0, message: `pip installed mlflow==${MLFLOW_VERSION} but ${MLFLOW_BIN} is missing` };
  writeFileSync(MARKER, `${new Date().toISOString()}\n`);
  const seconds = Math.round((Date.now() - started) / 1000);
  return { ok: true, bin: MLFLOW_BIN, seconds, message: `MLflow ${MLFLOW_VERSION}: installed in ${seconds} s into ${MLFLOW_VENV}` };
}
