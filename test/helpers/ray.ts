/**
 * A real Ray head for the tests: `ray start --head --block` on loopback with its own temp dir
 * (`--temp-dir`), free ports, one CPU and a 100 MB object store (the machine has 2 shared cores).
 * `useRayHead()` starts it once per test file (node:test `before`) and stops it in `after`.
 *
 * Readiness is the Jobs REST API answering (polled, never slept). Stopping does what
 * `ray stop --force` does (SIGKILL) but only to this head's processes: `ray stop` would kill every
 * Ray process on the machine, so the head is started in a session of its own (`detached`) and
 * exactly that session's processes and their descendants (job entrypoints start sessions of their
 * own) are killed, then the temp dir is removed.
 *
 * Ray comes from `npm run tools:install` (.tools/ray); when it is missing it is installed here
 * first (about a minute, from PyPI). An install that fails is a failure naming what was tried, never a skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { installRay } from '../../scripts/ray.js';
import { freePort } from './free-port.js';

export interface RayPorts {
  gcs: number;
  dashboard: number;
  client: number;
  agentHttp: number;
  agentGrpc: number;
  runtimeEnv: number;
  metrics: number;
}

export interface RayHead {
  /** The dashboard's base URL, where the Jobs REST API is (e.g. http://127.0.0.1:8265). */
  address: string;
  /** Its ports: a head started again with them is "the same head, restarted" to a client. */
  ports: RayPorts;
  tempDir: string;
  /** Milliseconds from `ray start` to the Jobs API answering. */
  startMs: number;
  stop(): Promise<void>;
}

/** Starts a head on free ports, or on `ports` (to restart one that was stopped). */
export async function startRayHead(options: { ports?: RayPorts } = {}): Promise<RayHead> {
  const install = installRay({ quiet: true });
  if (!install.ok) throw new Error(`no Ray for the tests: ${install.message}`);
  // Short: Ray's unix socket paths under it must stay below 108 characters.
  const tempDir = mkdtempSync(path.join(tmpdir(), 'rray-'));
  const ports: RayPorts = options.ports ?? { gcs: await freePort(), dashboard: await freePort(), client: await freePort(), agentHttp: await freePort(), agentGrpc: await freePort(), runtimeEnv: await freePort(), metrics: await freePort() };
  const args = [
    'start', '--head', '--block',
    '--node-ip-address', '127.0.0.1',
    '--port', String(ports.gcs),
    '--dashboard-host', '127.0.0.1',
    '--dashboard-port', String(ports.dashboard),
    '--include-dashboard', 'true',
    '--ray-client-server-port', String(ports.client),
    '--dashboard-agent-listen-port', String(ports.agentHttp),
    '--dashboard-agent-grpc-port', String(ports.agentGrpc),
    '--runtime-env-agent-port', String(ports.runtimeEnv),
    '--metrics-export-port', String(ports.metrics),
    '--num-cpus', '1',
    '--object-store-memory', String(100 * 1024 * 1024),
    '--temp-dir', tempDir,
    '--disable-usage-stats',
  ];
  const started = Date.now();
  const child = spawn(install.bin, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RAY_USAGE_STATS_ENABLED: '0', RAY_DISABLE_DOCKER_CPU_WARNING: '1' },
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const address = `http://127.0.0.1:${ports.dashboard}`;
  const stop = () => stopSession(child, tempDir);
  try {
    await jobsApiAnswers(address, child, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, ports, tempDir, startMs: Date.now() - started, stop };
}

/** Polls GET /api/jobs/ until it answers 200 (the dashboard's job module is up), within 90 s. */
async function jobsApiAnswers(address: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`ray start exited (${child.exitCode ?? child.signalCode}) before its Jobs API answered:\n${output().trim().slice(-3_000)}`);
    try {
      const res = await fetch(`${address}/api/jobs/`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the Ray Jobs API at ${address} did not answer within 90 s (last: ${last}):\n${output().trim().slice(-3_000)}`);
}

interface ProcStat {
  pid: number;
  ppid: number;
  session: number;
}

function processTable(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp session ...; comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(entry), ppid: Number(fields[1]), session: Number(fields[3]) });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/**
 * Adds to `mine` the processes of the head's session and all their descendants: this head's
 * daemons, workers and job entrypoints, nothing else. `mine` accumulates across calls, since a
 * killed parent's children are re-parented and would no longer be seen as descendants.
 */
function collectHeadProcesses(sessionId: number, mine: Set<number>): void {
  const table = processTable();
  for (const p of table) if (p.session === sessionId) mine.add(p.pid);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of table) {
      if (!mine.has(p.pid) && mine.has(p.ppid)) {
        mine.add(p.pid);
        grew = true;
      }
    }
  }
}

async function stopSession(child: ChildProcess, tempDir: string): Promise<void> {
  const sessionId = child.pid;
  if (sessionId !== undefined) {
    // Repeat until none is left: a dying raylet may still be starting a worker.
    const deadline = Date.now() + 15_000;
    const known = new Set<number>();
    for (;;) {
      collectHeadProcesses(sessionId, known);
      const pids = [...known].filter((pid) => !isZombie(pid));
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      if (Date.now() > deadline) throw new Error(`Ray head processes still alive after SIGKILL: ${pids.join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  rmSync(tempDir, { recursive: true, force: true });
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** One Ray head for the test file: started in `before`, stopped in `after`. Returns a getter. */
export function useRayHead(): () => RayHead {
  let head: RayHead | undefined;
  before(async () => {
    head = await startRayHead();
  });
  after(async () => {
    await head?.stop();
  });
  return () => {
    if (!head) throw new Error('the Ray head is not started (useRayHead() registers a before hook)');
    return head;
  };
}
