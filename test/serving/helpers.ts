import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { fraudModelSpec } from '../../src/demo/simulator/fraud.js';
import type { ModelSpec } from '../../src/config/schema.js';
import { createLogger } from '../../src/runtime/logger.js';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/serving/gateway.js';
import { fraudReferenceModel } from '../../src/demo/simulator/reference-model.js';
import { PostgresDeploymentStore } from '../../src/serving/deployment-store-postgres.js';
import { postgresDatabase } from '../helpers/postgres.js';

export const TOKEN = 'test-admin-token-0123456789';
export const quiet = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', pretty: false });

/** The demo's fraud model spec (as in retrain.yaml), sticky on entity_id. */
export const fraudSpec = fraudModelSpec;

export function features(i = 0): Record<string, number | string | null> {
  return {
    transaction_amount: 10 + (i % 50) * 7.5,
    account_age_days: 30 + (i % 400),
    hour_of_day: i % 24,
    distance_from_home_km: (i % 30) * 1.5,
    user_country: ['US', 'DE', 'NG', 'BR'][i % 4],
    merchant_category: ['grocery', 'gift_cards', 'electronics', 'travel'][i % 4],
    device_type: ['mobile', 'desktop'][i % 2],
  };
}

export interface TestEnv {
  dir: string;
  /** retrain-linear/v1 files written in the temp dir: v1 (champion-like), v2 (a different challenger). */
  v1: string;
  v2: string;
  cleanup(): void;
}

export function testEnv(): TestEnv {
  const dir = mkdtempSync(path.join(tmpdir(), 'retrain-gateway-'));
  const v1 = path.join(dir, 'artifacts', 'v1.json');
  const v2 = path.join(dir, 'artifacts', 'v2.json');
  writeModel(v1, 0);
  writeModel(v2, 1);
  return { dir, v1, v2, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeModel(file: string, variant: number, threshold = 0.5): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(fraudReferenceModel({ variant, threshold }), null, 2));
}

export interface Running {
  gateway: Gateway;
  url: string;
  close(): Promise<void>;
}

/** A real gateway on 127.0.0.1 with a free port. */
export async function startTestGateway(env: TestEnv, options: Partial<GatewayOptions> = {}): Promise<Running> {
  const gateway = await createGateway({
    config: { models: [fraudSpec()] },
    dataDir: env.dir,
    logger: quiet,
    adminToken: TOKEN,
    defaultMetrics: false,
    ...options,
  });
  await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  const address = gateway.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { gateway, url: `http://127.0.0.1:${port}`, close: () => gateway.close() };
}

export interface Answer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export async function call<T = any>(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // metrics text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export const admin = <T = any>(base: string, method: string, route: string, body?: unknown, token: string | null = TOKEN) =>
  call<T>(`${base}/v1/admin/models/fraud-detector${route}`, method, body, token === null ? {} : { authorization: `Bearer ${token}` });

export const predict = <T = any>(base: string, body: unknown, model = 'fraud-detector') => call<T>(`${base}/v1/models/${model}/predict`, 'POST', body);
export const feedback = <T = any>(base: string, body: unknown) => call<T>(`${base}/v1/models/fraud-detector/feedback`, 'POST', body);

/** Deploys v1 as champion (and optionally v2 as challenger). */
export async function deploy(base: string, env: TestEnv, challenger?: { weight: number; shadow?: boolean }): Promise<void> {
  const c = await admin(base, 'PUT', '/champion', { version: 1, artifactUri: env.v1 });
  if (c.status !== 200) throw new Error(`champion: ${c.status} ${JSON.stringify(c.body)}`);
  if (challenger) {
    const r = await admin(base, 'PUT', '/challenger', { version: 2, artifactUri: env.v2, ...challenger });
    if (r.status !== 200) throw new Error(`challenger: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

/**
 * Two gateway replicas sharing a PostgreSQL deployment store (a fresh database named after
 * `prefix`), each with its own data dir; the artifacts are on a shared disk here (B may load A's
 * files). Started in `before`, stopped in `after`; read them through the returned getters.
 */
export function useTwoReplicas(prefix: string, options: Partial<GatewayOptions> = {}): { a: () => Running; b: () => Running; envA: () => TestEnv } {
  let envA: TestEnv;
  let envB: TestEnv;
  let a: Running;
  let b: Running;
  const previousRoots = process.env.RETRAIN_ARTIFACT_ROOTS;
  before(async () => {
    envA = testEnv();
    envB = testEnv();
    const url = await postgresDatabase(prefix);
    process.env.RETRAIN_ARTIFACT_ROOTS = path.join(envA.dir, 'artifacts');
    a = await startTestGateway(envA, { ...options, deploymentStore: new PostgresDeploymentStore({ url, dataDir: envA.dir, pollMs: 100 }) });
    b = await startTestGateway(envB, { ...options, deploymentStore: new PostgresDeploymentStore({ url, dataDir: envB.dir, pollMs: 100 }) });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    if (previousRoots === undefined) delete process.env.RETRAIN_ARTIFACT_ROOTS;
    else process.env.RETRAIN_ARTIFACT_ROOTS = previousRoots;
    envA?.cleanup();
    envB?.cleanup();
  });
  return { a: () => a, b: () => b, envA: () => envA };
}
