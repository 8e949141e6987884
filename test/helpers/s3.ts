/**
 * A real S3 server for the tests: versitygw (Versity S3 Gateway) serving a temporary directory
 * (`versitygw --port 127.0.0.1:PORT posix DIR`, root credentials from ROOT_ACCESS_KEY /
 * ROOT_SECRET_KEY), on a free loopback port, with one bucket made. `useS3()` starts it once per
 * test file (node:test `before`), points the AWS SDK's environment at it (AWS_ENDPOINT_URL,
 * AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and stops it in `after`, putting the
 * environment back.
 *
 * The binary comes from `npm run tools:install` (.tools/go/bin/versitygw); when it is missing it is
 * built here first (about 3-5 minutes, from the Go module proxy). A build that fails is a failure
 * naming what was tried, never a skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort } from './free-port.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { closeS3Clients } from '../../src/backends/artifacts/index.js';
import { installVersitygw } from '../../scripts/versitygw.js';

export interface S3Server {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The directory versitygw serves: `<dir>/<bucket>/<key>` is an object's file. */
  dir: string;
  /** The AWS SDK environment that reaches this server. */
  env: Record<string, string>;
  /** A client of its own (not the product's), for arranging and inspecting objects. */
  client: S3Client;
  stop(): Promise<void>;
}

export async function startS3Server(options: { bucket?: string } = {}): Promise<S3Server> {
  const install = installVersitygw({ quiet: true });
  if (!install.ok) throw new Error(`no S3 server for the tests: ${install.message}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'retrain-s3-'));
  const accessKeyId = 'retrain-test';
  const secretAccessKey = 'retrain-test-secret-0123456789';
  const region = 'us-east-1';
  const bucket = options.bucket ?? 'retrain-artifacts';
  let child: ChildProcess | undefined;
  let output = '';
  let port = 0;
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // A free port can be taken between the probe and the server's bind: a second port then.
  for (let attempt = 0; attempt < 3; attempt++) {
    port = await freePort();
    child = spawn(install.bin, ['--port', `127.0.0.1:${port}`, '--quiet', 'posix', dir], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, ROOT_ACCESS_KEY: accessKeyId, ROOT_SECRET_KEY: secretAccessKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    if (await answers(`http://127.0.0.1:${port}/`, child)) break;
    await stop().catch(() => undefined);
    child = undefined;
  }
  if (!child) throw new Error(`versitygw (${install.bin}) did not answer on 127.0.0.1:${port}: ${output.trim().slice(-2_000)}`);
  const endpoint = `http://127.0.0.1:${port}`;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // as the product's own client (src/backends/artifacts/s3.ts)
  const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    client.destroy();
    await stop();
    throw err;
  }
  return {
    endpoint,
    bucket,
    accessKeyId,
    secretAccessKey,
    region,
    dir,
    env: { AWS_ENDPOINT_URL: endpoint, AWS_REGION: region, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey },
    client,
    stop: async () => {
      client.destroy();
      await stop();
    },
  };
}

/** Any HTTP answer within 10 s (versitygw answers 403 to an unsigned request once it listens). */
async function answers(url: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    try {
      await fetch(url, { signal: AbortSignal.timeout(1_000) });
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return false;
}

const AWS_VARS = ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'];

/**
 * One S3 server for the test file: started in `before`, the AWS environment pointed at it, stopped
 * (and the environment restored) in `after`. Returns a getter for the running server.
 */
export function useS3(options: { bucket?: string } = {}): () => S3Server {
  let server: S3Server | undefined;
  const saved = new Map<string, string | undefined>();
  before(async () => {
    server = await startS3Server(options);
    for (const name of AWS_VARS) {
      saved.set(name, process.env[name]);
      delete process.env[name];
    }
    Object.assign(process.env, server.env);
  });
  after(async () => {
    await closeS3Clients();
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('the S3 server is not started (useS3() registers it in before())');
    return server;
  };
}
