/**
 * A real PostgreSQL server for the tests: a throw-away cluster made with Debian's `initdb` in a
 * temporary directory, listening on 127.0.0.1 on a free port (unix socket in the same directory),
 * `trust` auth on loopback. The server refuses to run as root, so as root the cluster belongs to the
 * `postgres` system user (or `nobody`) and `initdb` / `pg_ctl` run through `runuser`.
 *
 * One server per process: `postgresDatabase()` starts it on first use and gives each caller its own
 * database (CREATE DATABASE), so test files and suites never share state; the server stops and its
 * directory is removed when the process exits (or by `stopPostgres()`). With RETRAIN_TEST_POSTGRES_URL
 * set (a test runner that started one server for the whole run), that server is used instead.
 *
 * No PostgreSQL on this machine is a failure, not a skip: CI runs where it is installed
 * (`npm run tools:install` installs it when missing and run as root).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from './free-port.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

const BIN = process.env.RETRAIN_TEST_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

interface Server {
  url: string;
  dir?: string;
  runAs?: string;
}

let server: Server | undefined;
let counter = 0;

function systemUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (r.status === 0 && g.status === 0) return { name, uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
  }
  throw new Error('running as root, and neither a "postgres" nor a "nobody" user exists to own the test cluster (PostgreSQL refuses to run as root)');
}

function run(runAs: string | undefined, tool: string, args: string[]): void {
  const [cmd, argv] = runAs ? ['runuser', ['-u', runAs, '--', path.join(BIN, tool), ...args]] : [path.join(BIN, tool), args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: '/' });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr || r.stdout}`);
}

/** Starts the per-process server (idempotent); returns the admin URL (database `postgres`). */
export async function startPostgres(): Promise<string> {
  if (server) return server.url;
  const shared = process.env.RETRAIN_TEST_POSTGRES_URL;
  if (shared) {
    server = { url: shared };
    return shared;
  }
  if (!existsSync(path.join(BIN, 'postgres'))) {
    throw new Error(
      `PostgreSQL is not installed (${path.join(BIN, 'postgres')} is missing): these tests need a real server. ` +
        'Install it with `npm run tools:install` as root (apt-get install postgresql-15), or set RETRAIN_TEST_POSTGRES_BIN / RETRAIN_TEST_POSTGRES_URL.',
    );
  }
  const user = systemUser();
  const dir = mkdtempSync(path.join(tmpdir(), 'retrain-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = path.join(dir, 'data');
  const port = await freePort();
  try {
    run(user?.name, 'initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    const conf = [
      `listen_addresses = '127.0.0.1'`,
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'max_connections = 200',
      'shared_buffers = 32MB',
    ].join('\n');
    writeFileSync(path.join(data, 'postgresql.auto.conf'), `${conf}\n`);
    if (user) execFileSync('chown', [`${user.uid}:${user.gid}`, path.join(data, 'postgresql.auto.conf')]);
    run(user?.name, 'pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  server = { url: `postgres://postgres@127.0.0.1:${port}/postgres`, dir, runAs: user?.name };
  process.once('exit', stopPostgresSync);
  return server.url;
}

function stopPostgresSync(): void {
  const s = server;
  server = undefined;
  if (!s?.dir) return;
  try {
    run(s.runAs, 'pg_ctl', ['-D', path.join(s.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  } catch {
    // already stopped
  }
  rmSync(s.dir, { recursive: true, force: true });
}

/** Stops the server this process started and removes its directory. */
export async function stopPostgres(): Promise<void> {
  stopPostgresSync();
}

/** A fresh, empty database on the test server; returns its URL. */
export async function postgresDatabase(prefix = 'retrain'): Promise<string> {
  const admin = await startPostgres();
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${++counter}_${Date.now() % 100000}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs SQL on a test database (setup and inspection the stores do not offer). */
export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (values.length ? await client.query<T>(text, values) : await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}
