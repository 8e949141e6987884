import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { ConfigError } from '../config/load.js';
import { createLogger, type Logger } from '../runtime/logger.js';
import { HttpError, installErrorHandling, parseOrThrow } from '../serving/errors.js';
import { PayloadDecryptionError, payloadCodecFromEnv } from './payload-codec.js';

/**
 * The codec server: the Temporal Web UI (and `temporal --codec-endpoint`) POST the payloads they
 * show to `<endpoint>/decode` and get them back decrypted; `<endpoint>/encode` does the reverse
 * for inputs typed into the UI. Protocol: a JSON body `{payloads: [{metadata: {k: base64}, data:
 * base64}]}` (proto3 JSON of temporal.api.common.v1.Payloads) in and out, header `X-Namespace`.
 *
 * The UI calls it from the browser, so it answers CORS for the UI's origin. It holds the keys,
 * so access is guarded: `Authorization: Bearer <RETRAIN_CODEC_TOKEN>`; without a token it only
 * binds to, and answers, loopback (a developer's own machine).
 */

export const CODEC_PREFIX = '/codec';
export const DEFAULT_UI_ORIGINS = ['http://localhost:8233'];
const ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'X-Namespace'];

const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, { error: 'expected base64' });
const jsonPayload = z.object({
  metadata: z.record(z.string(), base64).nullish(),
  data: base64.nullish(),
});
const payloadsBody = z.object({ payloads: z.array(jsonPayload, { error: 'expected an array of payloads' }) }, { error: 'expected {"payloads": [...]}' });
type JsonPayload = z.infer<typeof jsonPayload>;

function fromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toJson(p: Payload): { metadata: Record<string, string>; data: string } {
  const b64 = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') : '');
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
    data: b64(p.data),
  };
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** 127.0.0.0/8, ::1 (also as an IPv4-mapped address) and the name localhost. */
export function isLoopback(host: string | undefined): boolean {
  if (!host) return false;
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** `Host: localhost:8091` → `localhost`; `[::1]:8091` → `::1`. */
function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(header) ?? /^([^:]+)(?::\d+)?$/.exec(header);
  return m?.[1];
}

export function normaliseOrigins(origins: readonly string[]): string[] {
  const problems: string[] = [];
  const out = origins.map((raw) => {
    const o = raw.trim().replace(/\/+$/, '');
    let url: URL | undefined;
    try {
      url = new URL(o);
    } catch {
      /* reported below */
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== o) {
      problems.push(`UI origin ${JSON.stringify(raw)}: expected an origin such as http://localhost:8233 (scheme, host and port; no path)`);
    }
    return o;
  });
  if (problems.length > 0) throw new ConfigError('codec server', problems);
  return out;
}

export interface CodecPluginOptions {
  codec: PayloadCodec;
  /** The bearer token; undefined or empty: none, and only loopback requests are answered. */
  token?: string;
  /** Browser origins allowed to call (the Temporal UI's); default DEFAULT_UI_ORIGINS. */
  uiOrigins?: string[];
  logger?: Logger;
}

/** POST /codec/decode, POST /codec/encode, and their CORS preflights. */
export async function codecServerPlugin(app: FastifyInstance, opts: CodecPluginOptions): Promise<void> {
  const { codec } = opts;
  const origins = new Set(normaliseOrigins(opts.uiOrigins ?? DEFAULT_UI_ORIGINS));
  const expected = opts.token ? digest(opts.token) : undefined;
  const log = opts.logger;

  const cors = (request: FastifyRequest, reply: FastifyReply): void => {
    const origin = request.headers.origin;
    if (origin === undefined) return; // not a browser (the CLI, curl): CORS does not apply
    if (!origins.has(origin)) {
      throw new HttpError(403, 'origin_not_allowed', `origin ${origin} may not call this codec server (allowed: ${[...origins].join(', ')}); start it with --ui-origin ${origin}`);
    }
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-allow-credentials', 'true');
    reply.header('vary', 'Origin');
  };

  const authorise = (request: FastifyRequest, reply: FastifyReply): void => {
    if (!expected) {
      // No token: a developer's machine only. The Host check stops DNS-rebinding pages from reaching it.
      if (!isLoopback(request.socket.remoteAddress) || !isLoopback(hostName(request.headers.host))) {
        throw new HttpError(403, 'forbidden', 'this codec server has no RETRAIN_CODEC_TOKEN and answers loopback requests only');
      }
      return;
    }
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? '');
    // Both sides hashed: timingSafeEqual compares two 32-byte digests whatever the token's length.
    if (!match || !timingSafeEqual(digest(match[1]), expected)) {
      reply.header('www-authenticate', 'Bearer realm="retrain-codec"');
      throw new HttpError(401, 'unauthorized', match ? 'invalid codec token' : 'missing bearer token: send "Authorization: Bearer <RETRAIN_CODEC_TOKEN>"');
    }
  };

  const preflight = async (request: FastifyRequest, reply: FastifyReply) => {
    cors(request, reply);
    const requested = String(request.headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter((h) => /^[A-Za-z0-9-]+$/.test(h));
    const allowed = [...new Set([...ALLOWED_HEADERS, ...requested].map((h) => h.toLowerCase()))];
    reply.header('access-control-allow-methods', 'POST, OPTIONS');
    reply.header('access-control-allow-headers', allowed.join(', '));
    reply.header('access-control-max-age', '600');
    // Chrome's Private Network Access: a UI served from elsewhere calling a codec server on localhost.
    if (request.headers['access-control-request-private-network'] === 'true') reply.header('access-control-allow-private-network', 'true');
    return reply.code(204).send();
  };

  const route = (direction: 'decode' | 'encode') => async (request: FastifyRequest, reply: FastifyReply) => {
    cors(request, reply);
    authorise(request, reply);
    const body = parseOrThrow(payloadsBody, request.body ?? {});
    const namespace = (request.params as { namespace?: string }).namespace ?? request.headers['x-namespace'];
    let out: Payload[];
    try {
      const payloads = body.payloads.map(fromJson);
      out = direction === 'decode' ? await codec.decode(payloads) : await codec.encode(payloads);
    } catch (err) {
      if (err instanceof PayloadDecryptionError) throw new HttpError(400, 'decode_failed', err.message);
      throw err;
    }
    log?.debug({ direction, namespace, payloads: out.length }, 'codec request');
    reply.header('cache-control', 'no-store'); // decrypted data stays out of caches
    return { payloads: out.map(toJson) };
  };

  // `<prefix>/decode`, and `<prefix>/<namespace>/decode` for endpoints templated with {namespace}.
  for (const direction of ['decode', 'encode'] as const) {
    for (const url of [`${CODEC_PREFIX}/${direction}`, `${CODEC_PREFIX}/:namespace/${direction}`]) {
      app.options(url, preflight);
      app.post(url, route(direction));
    }
  }
}

export interface CodecServerOptions {
  /** Default: payloadCodecFromEnv() (RETRAIN_PAYLOAD_KEY, RETRAIN_PAYLOAD_OLD_KEYS). */
  codec?: PayloadCodec;
  /** Default process.env.RETRAIN_CODEC_TOKEN. Empty: no token, allowed on a loopback address only. */
  token?: string;
  /** The address it will listen on (checked: no token → loopback only). Default 127.0.0.1. */
  host?: string;
  uiOrigins?: string[];
  logger?: Logger;
  /** Default 8 MiB: the UI sends whole events' payloads. */
  bodyLimitBytes?: number;
}

/** A Fastify instance serving the codec endpoints (not listening yet). */
export async function buildCodecServer(options: CodecServerOptions = {}): Promise<FastifyInstance> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? process.env.RETRAIN_CODEC_TOKEN ?? '';
  if (!token && !isLoopback(host)) {
    throw new ConfigError('codec server', [
      `refusing to listen on ${host} without RETRAIN_CODEC_TOKEN: anyone who reaches it could decrypt your payloads. Set RETRAIN_CODEC_TOKEN (clients send "Authorization: Bearer <token>") or bind to 127.0.0.1`,
    ]);
  }
  const codec = options.codec ?? payloadCodecFromEnv();
  if (!codec) throw new ConfigError('codec server', ['RETRAIN_PAYLOAD_KEY is not set: there is no key to decode payloads with (see RETRAIN_PAYLOAD_KEY, RETRAIN_PAYLOAD_OLD_KEYS)']);
  const log = (options.logger ?? createLogger({ name: 'codec-server' })).child({ component: 'codec-server' });
  const bodyLimit = options.bodyLimitBytes ?? 8 * 1024 * 1024;
  const app = Fastify({ logger: false, bodyLimit, return503OnClosing: true, forceCloseConnections: 'idle' });
  try {
    app.removeContentTypeParser('text/plain'); // JSON only: a form-style cross-site POST gets 415
    installErrorHandling(app, bodyLimit, log);
    await app.register(codecServerPlugin, { codec, token, uiOrigins: options.uiOrigins, logger: log });
    await app.ready();
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  return app;
}

export interface RunningCodecServer {
  app: FastifyInstance;
  /** What to give the UI (`--ui-codec-endpoint`) and `temporal --codec-endpoint`: `<url>/codec`. */
  endpoint: string;
  close(): Promise<void>;
}

/** Builds and listens; what `retrain codec-server` runs. */
export async function startCodecServer(options: CodecServerOptions & { port?: number }): Promise<RunningCodecServer> {
  const host = options.host ?? '127.0.0.1';
  const app = await buildCodecServer({ ...options, host });
  try {
    await app.listen({ port: options.port ?? 8091, host });
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return { app, endpoint: `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}${CODEC_PREFIX}`, close: () => app.close() };
}
