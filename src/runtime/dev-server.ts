import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { RETRAIN_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
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
