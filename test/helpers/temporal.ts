import { readFileSync } from 'node:fs';
import { after, before } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { startDevServer, startTimeSkippingServer } from '../../src/runtime/dev-server.js';
import { ensureSearchAttributes } from '../../src/runtime/search-attributes.js';
import { createLogger } from '../../src/runtime/logger.js';
import { installTemporalRuntime } from '../../src/runtime/temporal-runtime.js';
import { bundleWorkflows } from '../../src/worker.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually as poll } from './poll.js';

// Tests log warnings and errors only, as JSON on stderr, so the test report stays readable.
installTemporalRuntime({ logger: createLogger({ level: process.env.RETRAIN_LOG_LEVEL ?? 'warn', pretty: false, destination: process.stderr }), metricsPort: 0, coreLogLevel: 'ERROR' });

/**
 * Test environments on the servers `npm test` started once for the run (see scripts/run-tests.ts).
 * A file run on its own (`node --import tsx --test file`) starts its own servers instead.
 */

type PrivateCreate = { create(opts: object): Promise<TestWorkflowEnvironment> };

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const address = process.env.RETRAIN_TEST_TIME_SKIPPING_ADDRESS;
  if (!address) {
    const env = await startTimeSkippingServer();
    await ensureSearchAttributes(env.connection, 'default');
    return env;
  }
  // The SDK offers no public way to attach to a running time-skipping server; its internal
  // factory does exactly that. The SDK version is pinned, so this stays stable.
  return (TestWorkflowEnvironment as unknown as PrivateCreate).create({
    server: { type: 'existing' },
    address,
    namespace: 'default',
    supportsTimeSkipping: true,
    connectionOptions: {},
  });
}

export async function devServerEnv(): Promise<TestWorkflowEnvironment & { stopServer?: () => Promise<void> }> {
  const address = process.env.RETRAIN_TEST_DEV_ADDRESS;
  if (address) return TestWorkflowEnvironment.createFromExistingServer({ address, namespace: 'default' });
  const server = await startDevServer({ dataDir: mkdtempSync(path.join(tmpdir(), 'retrain-dev-')), port: 0, persistent: false });
  const env = await TestWorkflowEnvironment.createFromExistingServer({ address: server.address, namespace: 'default' });
  return Object.assign(env, { stopServer: server.stop });
}

export type DevEnv = TestWorkflowEnvironment & { stopServer?: () => Promise<void> };

/** The dev-server environment for one test file: connected before its tests, closed after them. */
export function useDevServer(): () => DevEnv {
  let env: DevEnv | undefined;
  before(async () => {
    env = await devServerEnv();
  });
  after(async () => {
    await env?.teardown();
    await env?.stopServer?.();
  });
  return () => env!;
}

let bundle: Promise<WorkflowBundle> | undefined;

/** The workflow bundle built once per run. */
export function workflowBundle(): Promise<WorkflowBundle> {
  const file = process.env.RETRAIN_TEST_WORKFLOW_BUNDLE;
  bundle ??= file ? Promise.resolve({ code: readFileSync(file, 'utf8') }) : bundleWorkflows();
  return bundle;
}

let counter = 0;
/** A task queue no other test uses, so tests never steal each other's tasks. */
export function uniqueQueue(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

/** Polls until a value comes (poll.ts), every 100 ms: visibility queries against a busy server need not be faster. */
export function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  return poll(check, what, timeoutMs, 100);
}
