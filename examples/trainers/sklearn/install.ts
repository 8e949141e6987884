import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Installs this trainer's Python requirements once into `<repo>/.tools/sklearn-trainer` (pip
 * --target, never the system site-packages) and reuses them while requirements.txt is unchanged.
 * Used by the end-to-end test and by bench/train.ts.
 */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const TRAINER_DIR = fileURLToPath(new URL('./', import.meta.url));
export const TRAIN_SCRIPT = path.join(TRAINER_DIR, 'train.py');
export const TARGET_DIR = path.join(REPO_ROOT, '.tools', 'sklearn-trainer');

export type SklearnDeps = { ok: true; python: string; pythonPath: string } | { ok: false; reason: string };

export async function ensureSklearnDeps(options: { python?: string; log?: (line: string) => void } = {}): Promise<SklearnDeps> {
  const python = options.python ?? process.env.PYTHON ?? 'python3';
  const log = options.log ?? (() => undefined);
  const requirements = path.join(TRAINER_DIR, 'requirements.txt');
  const digest = createHash('sha256').update(await readFile(requirements)).digest('hex');
  const marker = path.join(TARGET_DIR, '.requirements-sha256');
  const env = { ...process.env, PYTHONPATH: TARGET_DIR };

  const installed = await readFile(marker, 'utf8').catch(() => '');
  if (installed.trim() !== digest) {
    log(`installing ${requirements} into ${TARGET_DIR} (one time)`);
    await rm(TARGET_DIR, { recursive: true, force: true });
    const pip = await run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--target', TARGET_DIR, '-r', requirements], process.env, 20 * 60_000);
    if (pip.code !== 0) return { ok: false, reason: `pip install failed (exit ${pip.code}): ${pip.tail}` };
  }
  const check = await run(python, ['-c', 'import sklearn, skl2onnx, onnx, pyarrow, pandas'], env, 120_000);
  if (check.code !== 0) return { ok: false, reason: `the installed packages do not import: ${check.tail}` };
  await writeFile(marker, `${digest}\n`);
  return { ok: true, python, pythonPath: TARGET_DIR };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; tail: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, tail: err.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, tail: output.trim().split('\n').slice(-10).join('\n') });
    });
  });
}
