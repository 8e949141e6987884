import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { RETRAIN_SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import { missingToolMessage, resolveTemporalTool, TemporalBinaryError, type ResolvedTool } from './temporal-binaries.js';

/**
 * The embedded Temporal server: the official CLI's dev server with a persistent SQLite file and
 * the web UI. The SDK's ephemeral-server support runs the process and stops it with us.
 */
export interface DevServerOptions {
  dataDir: string;
  /** gRPC port; 0 picks a free one (tests). */
  port?: number;
  /** Web UI port; undefined turns the UI off. */
  uiPort?: number;
  ip?: string;
  namespace?: string;
  /** Keep history across restarts in `<dataDir>/temporal.db` (default true). */
  persistent?: boolean;
  tool?: ResolvedTool;
  /** The web UI decodes payloads through this codec server (`retrain codec-server`, e.g. http://127.0.0.1:8091/codec). */
  uiCodecEndpoint?: string;
}

export interface RunningDevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  dbFile?: string;
  tool: ResolvedTool;
  stop(): Promise<void>;
}

export async function startDevServer(options: DevServerOptions): Promise<RunningDevServer> {
  const tool = options.tool ?? resolveTemporalTool('cli');
  const namespace = options.namespace ?? 'default';
  const dbFile = options.persistent === false ? undefined : path.join(options.dataDir, 'temporal.db');
  if (dbFile) mkdirSync(path.dirname(dbFile), { recursive: true });
  let env: TestWorkflowEnvironment;
  try {
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: tool.executable,
        dbFilename: dbFile,
        ip: options.ip ?? '127.0.0.1',
        port: options.port || undefined,
        ui: options.uiPort !== undefined,
        uiPort: options.uiPort,
        namespace,
        searchAttributes: RETRAIN_SEARCH_ATTRIBUTES,
        log: { format: 'json', level: 'warn' },
        extraArgs: options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : undefined,
      },
    });
  } catch (err) {
    const reason = briefReason(err);
    if (tool.source === 'sdk-download') throw new TemporalBinaryError(missingToolMessage('cli', reason));
    throw new TemporalBinaryError(`${tool.description} failed to start: ${reason}`);
  }
  return {
    address: env.address,
    namespace,
    uiUrl: options.uiPort !== undefined ? `http://localhost:${options.uiPort}` : undefined,
    dbFile,
    tool,
    stop: () => env.teardown(),
  };
}

/** A port `retrain dev` binds: what needs it, and the environment variable that moves it. */
export interface PortNeed {
  port: number;
  host: string;
  what: string;
  envVar: string;
  /** Another way out than moving the port, e.g. using the server already listening there. */
  alternative?: string;
}

/** The one line a taken port gets, whether found by the check before start or by a late EADDRINUSE. */
export function portInUseLine(need: PortNeed): string {
  return `port ${need.port} (${need.what}) is in use: set ${need.envVar} to a free port${need.alternative ? `, or ${need.alternative}` : ''}`;
}

/** Whether host:port can be bound now: bound and let go at once, so nothing is left listening. */
function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err)));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * One line per problem with the ports `dev` needs, checked before anything starts: a port two of
 * them share, and each port something else listens on. Empty when all are free; port 0 (the
 * system picks one, or off) is never a problem. One probe at a time, so they never collide.
 */
export async function portProblems(needs: PortNeed[]): Promise<string[]> {
  const problems: string[] = [];
  const used = needs.filter((n) => n.port > 0);
  const checked = new Set<number>();
  for (const need of used) {
    if (checked.has(need.port)) continue;
    checked.add(need.port);
    const sharing = used.filter((n) => n.port === need.port);
    if (sharing.length > 1) {
      problems.push(`port ${need.port} is needed by ${sharing.map((n) => `${n.what} (${n.envVar})`).join(' and ')}: set one of them to another port`);
    } else if (!(await portFree(need.port, need.host))) {
      problems.push(portInUseLine(need));
    }
  }
  return problems;
}

/** The time-skipping test server, for the test suite. */
export async function startTimeSkippingServer(tool: ResolvedTool = resolveTemporalTool('test-server')): Promise<TestWorkflowEnvironment> {
  try {
    return await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: tool.executable } });
  } catch (err) {
    const reason = briefReason(err);
    if (tool.source === 'sdk-download') throw new TemporalBinaryError(missingToolMessage('test-server', reason));
    throw new TemporalBinaryError(`${tool.description} failed to start: ${reason}`);
  }
}

/** The SDK's download errors repeat the URL twice; the last clause is the part a person needs. */
function briefReason(err: unknown): string {
  const message = (err as Error).message.split('\n')[0];
  if (!/failed to download/.test(message)) return message;
  return `the SDK's download failed: ${message.split(': ').at(-1)}`;
}
