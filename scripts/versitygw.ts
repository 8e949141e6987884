/**
 * The S3 server the object-storage tests run against: Versity S3 Gateway (versitygw), a single Go
 * binary serving a local directory over the S3 API. Built from the Go module proxy into
 * .tools/go/bin by `npm run tools:install`, or on demand by test/helpers/s3.ts when it is missing.
 * Everything Go writes (module cache, build cache) stays under .tools/go.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const VERSITYGW_VERSION = 'v1.8.0';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GO_HOME = path.join(ROOT, '.tools', 'go');
export const VERSITYGW_BIN = path.join(GO_HOME, 'bin', 'versitygw');

/** Go: GO_BIN, else /usr/local/go/bin/go, else `go` on the PATH. */
function goBinary(): string {
  if (process.env.GO_BIN) return process.env.GO_BIN;
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go';
  return 'go';
}

export interface InstallResult {
  ok: boolean;
  bin: string;
  /** Seconds the build took (0: the binary was there). */
  seconds: number;
  message: string;
}

/**
 * `go install github.com/versity/versitygw/cmd/versitygw@v1.8.0` into .tools/go/bin (idempotent:
 * nothing to do when the binary is there). One package at a time and niced: the machine is shared.
 * The caches are removed afterwards (about 750 MB; the binary is all the tests need).
 */
export function installVersitygw(options: { quiet?: boolean } = {}): InstallResult {
  const present = (): InstallResult => ({ ok: true, bin: VERSITYGW_BIN, seconds: 0, message: `versitygw ${VERSITYGW_VERSION}: ${VERSITYGW_BIN}` });
  if (existsSync(VERSITYGW_BIN)) return present();
  mkdirSync(GO_HOME, { recursive: true });
  // One build at a time (two test files may find the binary missing together): the other waits for it.
  const lock = path.join(GO_HOME, '.installing');
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another process builds: wait for its lock to go (the binary may be half-written until then).
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 20 * 60_000) rmSync(lock, { recursive: true, force: true }); // a build that died
      if (Date.now() - started > 20 * 60_000) return { ok: false, bin: VERSITYGW_BIN, seconds: 0, message: `waited 20 minutes for another build of versitygw (${lock})` };
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000);
    }
  }
  try {
    if (existsSync(VERSITYGW_BIN)) return present();
    return build(options);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function build(options: { quiet?: boolean }): InstallResult {
  const env = {
    ...process.env,
    GOBIN: path.join(GO_HOME, 'bin'),
    GOPATH: path.join(GO_HOME, 'path'),
    GOCACHE: path.join(GO_HOME, 'cache'),
    GOFLAGS: '-modcacherw',
    GOTOOLCHAIN: 'local',
  };
  const started = Date.now();
  const go = goBinary();
  const r = spawnSync('nice', ['-n', '10', go, 'install', '-p', '1', `github.com/versity/versitygw/cmd/versitygw@${VERSITYGW_VERSION}`], {
    env,
    stdio: options.quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  if (r.status !== 0 || !existsSync(VERSITYGW_BIN)) {
    const tail = `${r.error?.message ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    return { ok: false, bin: VERSITYGW_BIN, seconds, message: `go install of versitygw ${VERSITYGW_VERSION} failed (${go}, exit ${r.status})${tail ? `:\n${tail}` : ''}` };
  }
  for (const dir of ['path', 'cache']) rmSync(path.join(GO_HOME, dir), { recursive: true, force: true });
  return { ok: true, bin: VERSITYGW_BIN, seconds, message: `versitygw ${VERSITYGW_VERSION}: built in ${seconds} s into ${VERSITYGW_BIN}` };
}
