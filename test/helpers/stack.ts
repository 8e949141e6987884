import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { buildActivities, openBackends, type Backends } from '../../src/activities/index.js';
import { parseConfig } from '../../src/config/load.js';
import type { ModelSpec, RetrainConfig } from '../../src/config/schema.js';
import { runtimeSettings, type RuntimeSettings } from '../../src/config/settings.js';
import { connectClient, temporalTarget } from '../../src/runtime/connection.js';
import { startDevServer, type RunningDevServer } from '../../src/runtime/dev-server.js';
import { createLogger, type Logger } from '../../src/runtime/logger.js';
import { createGateway, type Gateway } from '../../src/serving/index.js';
import { createWorkers, runWorkers } from '../../src/worker.js';
import { freePort } from './fraud-model.js';
import { devServerEnv, uniqueQueue, workflowBundle } from './temporal.js';

/**
 * The real stack a dev-server test runs against, started by one call and stopped by one call, as
 * Fastify's tests build their app with one helper that registers its own teardown:
 *
 *     const stack = useStack({ name: 'dups', config: yaml, prepare: (s) => writeHistory(...) });
 *     it('...', async () => { await stack.client.workflow.start(...); stack.backends.registry... });
 *
 * In order: the Temporal dev server (the run's shared one, or an own restartable one), a data dir,
 * the in-process gateway on a free port (the config is written for its URL), the config file, the
 * backends (lake, registry, trainer) with the client, `prepare` (seed champions, write history),
 * then the real workers with the real activities on task queues no other test uses. Teardown runs
 * the test's `onStop` callbacks first (newest first), then stops everything in reverse.
 */
export interface StackOptions {
  /** Names the data dir and the task queues (`<name>-control`, `<name>-training`). */
  name: string;
  /**
   * The whole config file (`models:` ...), or a function of the gateway's URL (the URL is
   * `http://127.0.0.1:1`, where nothing listens, when there is no in-process gateway). Without a
   * config the stack is Temporal alone: no backends, no gateway, no workers.
   */
  config?: string | ((gatewayUrl: string) => string);
  /** An in-process gateway (createGateway) listening on a free port of 127.0.0.1. */
  gateway?: boolean;
  /** The control-plane token: RETRAIN_ADMIN_TOKEN for the stack's life (the gateway clients read it), and the gateway's. */
  adminToken?: string;
  /** Real workers in this process over the backends (default true); false when the test runs `retrain worker` itself. */
  workers?: boolean;
  /** Runs after the backends open and before the workers start: seed champions, write history. */
  prepare?: (stack: Stack) => Promise<unknown>;
  /** Extra environment for the stack's life (restored at stop), e.g. RETRAIN_TEST_FAULTS. */
  env?: Record<string, string>;
  /**
   * Payload encryption: these RETRAIN_PAYLOAD_* variables are set for the stack's life and
   * `client` is the product's own (connectClient), which encrypts; `env.client` stays plain.
   */
  encryption?: Record<string, string>;
  /**
   * `shared` (default): the dev server `npm test` started (or one for this file). `own`: a
   * persistent dev server of its own on a fixed port under the data dir, which `restartTemporal()`
   * stops and starts again on the same database.
   */
  temporal?: 'shared' | 'own';
  /** The stack's log level on stderr (default warn). */
  logLevel?: string;
}

export interface Stack {
  /** The Temporal server's address (host:port). */
  address: string;
  /** The client tests use (the product's encrypting client with `encryption`). */
  client: Client;
  /** A plain client (no codec) and the workers' native connection. */
  plain: Client;
  nativeConnection: NativeConnection;
  dataDir: string;
  logger: Logger;
  /** `<dataDir>/retrain.yaml`, holding `configText`. */
  configFile: string;
  configText: string;
  config: RetrainConfig;
  /** The config's models by name. */
  specs: Record<string, ModelSpec>;
  settings: RuntimeSettings;
  taskQueues: { control: string; training: string };
  backends: Backends;
  /** The in-process gateway and its URL (with `gateway: true`). */
  gateway?: Gateway;
  gatewayUrl: string;
  workers: Worker[];
  /** Environment for `retrain` child processes: this server, data dir, task queues and token. */
  cliEnv: NodeJS.ProcessEnv;
  /** Registers teardown to run before the stack's own (traffic, schedules, child processes). */
  onStop(fn: () => Promise<unknown> | unknown): void;
  /** Stops the own dev server and starts it again on the same port and database (`temporal: 'own'`). */
  restartTemporal(): Promise<void>;
  /** Stops everything; safe to call more than once. */
  stop(): Promise<void>;
}

const UNREACHABLE = 'http://127.0.0.1:1';

/** Starts the stack; the caller stops it (`stop()` is idempotent). Inside a test file, `useStack` does both. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const stops: Array<() => Promise<unknown> | unknown> = [];
  const onStop: Array<() => Promise<unknown> | unknown> = [];
  let stopping: Promise<void> | undefined;
  const stack = {
    onStop: (fn: () => Promise<unknown> | unknown) => void onStop.push(fn),
    stop: () =>
      (stopping ??= (async () => {
        const errors: unknown[] = [];
        for (const fn of [...onStop.reverse(), ...stops.reverse()]) await Promise.resolve().then(fn).catch((err) => errors.push(err));
        if (errors.length > 0) throw errors[0];
      })()),
  } as Stack;
  try {
    const restoreEnv = setEnv({ ...options.env, ...options.encryption, ...(options.adminToken ? { RETRAIN_ADMIN_TOKEN: options.adminToken } : {}) });
    stops.push(restoreEnv);
    stack.dataDir = mkdtempSync(path.join(tmpdir(), `retrain-${options.name}-`));
    stack.logger = createLogger({ level: options.logLevel ?? 'warn', pretty: false, destination: process.stderr });
    await startTemporal(stack, options, stops);

    stack.taskQueues = { control: uniqueQueue(`${options.name}-control`), training: uniqueQueue(`${options.name}-training`) };
    stack.settings = { ...runtimeSettings(), dataDir: stack.dataDir, taskQueues: stack.taskQueues };
    stack.cliEnv = {
      TEMPORAL_ADDRESS: stack.address,
      RETRAIN_DATA_DIR: stack.dataDir,
      RETRAIN_CONTROL_QUEUE: stack.taskQueues.control,
      RETRAIN_TRAINING_QUEUE: stack.taskQueues.training,
      ...(options.adminToken ? { RETRAIN_ADMIN_TOKEN: options.adminToken } : {}),
    };
    stack.workers = [];
    stack.gatewayUrl = UNREACHABLE;
    if (options.config === undefined) return stack;

    const configFor = (url: string) => (typeof options.config === 'function' ? options.config(url) : options.config!);
    if (options.gateway) {
      // The gateway serves the config's models; their serving URL is the gateway's own, known once it listens.
      const gateway = await createGateway({ config: parseConfig(configFor(UNREACHABLE)), dataDir: stack.dataDir, logger: stack.logger, adminToken: options.adminToken });
      stops.push(() => gateway.close());
      stack.gateway = gateway;
      stack.gatewayUrl = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
    }
    stack.configText = configFor(stack.gatewayUrl);
    stack.config = parseConfig(stack.configText);
    stack.specs = Object.fromEntries(stack.config.models.map((m) => [m.name, m]));
    stack.configFile = path.join(stack.dataDir, 'retrain.yaml');
    writeFileSync(stack.configFile, stack.configText);
    const backends = openBackends({ config: stack.config, settings: stack.settings, logger: stack.logger, client: stack.plain });
    stops.push(() => backends.close());
    stack.backends = backends;

    await options.prepare?.(stack);

    if (options.workers !== false) {
      const workers = await createWorkers({ connection: stack.nativeConnection, namespace: 'default', settings: stack.settings, activities: buildActivities(backends), workflowBundle: await workflowBundle() });
      const running = runWorkers(workers);
      stops.push(async () => {
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await running;
      });
      stack.workers = workers;
    }
    return stack;
  } catch (err) {
    await stack.stop().catch(() => undefined);
    throw err;
  }
}

/**
 * The stack for one test file or `describe`: started before its tests, stopped after them. The
 * returned object is filled in when the `before` hook has run; options may be a function, called
 * then (for values an earlier hook computes).
 */
export function useStack(options: StackOptions | (() => StackOptions | Promise<StackOptions>)): Stack {
  const holder = {} as Stack;
  let started: Stack | undefined;
  before(async () => {
    started = await startStack(typeof options === 'function' ? await options() : options);
    Object.assign(holder, started);
  });
  after(async () => {
    await started?.stop();
  });
  return holder;
}

async function startTemporal(stack: Stack, options: StackOptions, stops: Array<() => Promise<unknown> | unknown>): Promise<void> {
  if (options.temporal === 'own') {
    const port = await freePort();
    const start = () => startDevServer({ dataDir: stack.dataDir, port, persistent: true });
    let server: RunningDevServer = await start();
    stops.push(() => server.stop());
    stack.address = server.address;
    stack.plain = new Client({ connection: await Connection.connect({ address: server.address }) });
    stops.push(() => stack.plain.connection.close());
    stack.nativeConnection = await NativeConnection.connect({ address: server.address });
    stops.push(() => stack.nativeConnection.close());
    stack.restartTemporal = async () => {
      await server.stop();
      server = await start();
    };
  } else {
    const env = await devServerEnv();
    stops.push(async () => {
      await env.teardown();
      await env.stopServer?.();
    });
    stack.address = env.address;
    stack.plain = env.client;
    stack.nativeConnection = env.nativeConnection;
    stack.restartTemporal = () => Promise.reject(new Error('restartTemporal needs a stack started with temporal: "own"'));
  }
  stack.client = stack.plain;
  if (options.encryption) {
    // The product's own client: connectClient reads the key from the environment set above.
    const client = await connectClient(temporalTarget({ address: stack.address, namespace: 'default' }));
    stops.push(() => client.connection.close());
    stack.client = client;
  }
}

/** Sets variables now; the returned function puts back what was there. */
function setEnv(vars: Record<string, string>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
