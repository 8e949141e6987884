import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { ConfigError } from '../../src/config/load.js';
import { createLogger } from '../../src/runtime/logger.js';
import { buildCodecServer, isLoopback } from '../../src/security/codec-server.js';
import { AesGcmPayloadCodec } from '../../src/security/payload-codec.js';
import { startCli } from '../helpers/cli.js';

const logger = createLogger({ level: 'silent', pretty: false });
const TOKEN = 'codec-token-for-tests';
const UI = 'http://localhost:8233';
const SECRET = { spec: 'fraud', comment: 'customer 4411 flagged by Bob' };

const json = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});
const fromJson = (p: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('codec server (HTTP protocol, CORS, authorisation)', () => {
  const codec = new AesGcmPayloadCodec({ current: { id: 'k1', key: randomBytes(32) } });
  let app: FastifyInstance;
  before(async () => {
    app = await buildCodecServer({ codec, token: TOKEN, logger });
  });
  after(() => app.close());

  const post = (url: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
    app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers }, payload: JSON.stringify(body) });

  it('decode: encrypted payloads come back as the original JSON payloads; plain ones unchanged', async () => {
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload(SECRET)]);
    const plain = json(defaultPayloadConverter.toPayload('already plain'));
    const res = await post('/codec/decode', { payloads: [json(encrypted), plain] });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.json() as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    assert.equal(body.payloads.length, 2);
    assert.deepEqual(body.payloads[0].metadata, { encoding: b64('json/plain') });
    assert.deepEqual(JSON.parse(Buffer.from(body.payloads[0].data, 'base64').toString()), SECRET);
    assert.deepEqual(body.payloads[1], plain);
    // Endpoints templated with {namespace} (`--codec-endpoint http://host/codec/{namespace}`) work too.
    const templated = await post('/codec/default/decode', { payloads: [json(encrypted)] });
    assert.equal(templated.statusCode, 200);
    assert.deepEqual(templated.json(), { payloads: [body.payloads[0]] });
  });

  it('encode: what the UI sends comes back encrypted under the current key, and decodes', async () => {
    const res = await post('/codec/encode', { payloads: [json(defaultPayloadConverter.toPayload(SECRET))] });
    assert.equal(res.statusCode, 200, res.body);
    const [p] = (res.json() as { payloads: Array<{ metadata: Record<string, string>; data: string }> }).payloads;
    assert.deepEqual(p.metadata, { encoding: b64('binary/encrypted'), 'encryption-key-id': b64('k1') });
    assert.deepEqual(defaultPayloadConverter.fromPayload((await codec.decode([fromJson(p)]))[0]), SECRET);
    // Empty lists and null payloads are fine.
    assert.deepEqual((await post('/codec/decode', { payloads: [] })).json(), { payloads: [] });
    const empty = await post('/codec/decode', { payloads: [{ metadata: { encoding: b64('binary/null') } }] });
    assert.deepEqual(empty.json(), { payloads: [{ metadata: { encoding: b64('binary/null') }, data: '' }] });
  });

  it('refuses without the token, with a wrong one, or a malformed header: 401 with a Bearer challenge', async () => {
    const body = { payloads: [] };
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${TOKEN}x` }, { authorization: TOKEN }, { authorization: `Basic ${b64(`u:${TOKEN}`)}` }]) {
      const res = await post('/codec/decode', body, headers);
      assert.equal(res.statusCode, 401, JSON.stringify(headers));
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="retrain-codec"');
      assert.equal(res.json().error, 'unauthorized');
      assert.ok(!res.body.includes(TOKEN));
    }
    assert.equal((await post('/codec/encode', body, {})).statusCode, 401);
    assert.equal((await post('/codec/decode', body, { authorization: `bearer  ${TOKEN} ` })).statusCode, 200, 'scheme is case-insensitive');
  });

  it('CORS: the preflight from the UI origin allows POST with X-Namespace and Authorization, without a token', async () => {
    for (const url of ['/codec/decode', '/codec/encode']) {
      const res = await app.inject({
        method: 'OPTIONS',
        url,
        headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace,authorization' },
      });
      assert.equal(res.statusCode, 204);
      assert.equal(res.headers['access-control-allow-origin'], UI);
      assert.equal(res.headers['access-control-allow-credentials'], 'true');
      assert.match(String(res.headers['access-control-allow-methods']), /POST/);
      const allowed = String(res.headers['access-control-allow-headers']).split(',').map((h) => h.trim().toLowerCase());
      for (const h of ['content-type', 'x-namespace', 'authorization']) assert.ok(allowed.includes(h), `${h} in ${allowed}`);
      assert.match(String(res.headers.vary), /Origin/);
    }
    // Chrome's private-network preflight (a UI served elsewhere calling localhost).
    const pna = await app.inject({ method: 'OPTIONS', url: '/codec/decode', headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-private-network': 'true' } });
    assert.equal(pna.headers['access-control-allow-private-network'], 'true');
    // The actual request carries the CORS headers too, also on a 401 (so the UI can show why).
    const denied = await post('/codec/decode', { payloads: [] }, { origin: UI });
    assert.equal(denied.statusCode, 401);
    assert.equal(denied.headers['access-control-allow-origin'], UI);
    const ok = await post('/codec/decode', { payloads: [] }, { origin: UI, authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.headers['access-control-allow-origin'], UI);
  });

  it('another origin gets no CORS headers and a 403, even with the token', async () => {
    const preflight = await app.inject({ method: 'OPTIONS', url: '/codec/decode', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(preflight.statusCode, 403);
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    const res = await post('/codec/decode', { payloads: [] }, { origin: 'https://evil.example', authorization: `Bearer ${TOKEN}` });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().message, /origin https:\/\/evil\.example may not call this codec server.*--ui-origin/);
  });

  it('bad bodies are 400 naming the field; JSON only; a payload it cannot decrypt is 400 naming the key id', async () => {
    const bad = await post('/codec/decode', { payloads: [{ metadata: { encoding: 'not base64!' }, data: 'AA==' }] });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().message, /payloads\[0\]\.metadata\.encoding: expected base64/);
    assert.equal((await post('/codec/decode', { nope: 1 })).statusCode, 400);
    const text = await app.inject({ method: 'POST', url: '/codec/decode', headers: { 'content-type': 'text/plain', authorization: `Bearer ${TOKEN}` }, payload: '{"payloads":[]}' });
    assert.equal(text.statusCode, 415);
    const foreign = await new AesGcmPayloadCodec({ current: { id: 'someone-else', key: randomBytes(32) } }).encode([defaultPayloadConverter.toPayload(SECRET)]);
    const undecodable = await post('/codec/decode', { payloads: [json(foreign[0])] });
    assert.equal(undecodable.statusCode, 400);
    assert.equal(undecodable.json().error, 'decode_failed');
    assert.match(undecodable.json().message, /key id "someone-else" is not configured/);
    assert.equal((await app.inject({ method: 'GET', url: '/codec/decode' })).statusCode, 404);
  });
});

describe('codec server without a token', () => {
  const codec = new AesGcmPayloadCodec({ current: { id: 'k1', key: randomBytes(32) } });

  it('refuses to start on a non-loopback address, and says why', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.20', 'codec.internal']) {
      await assert.rejects(buildCodecServer({ codec, token: '', host, logger }), (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, new RegExp(`refusing to listen on ${host.replace(/\./g, '\\.')} without RETRAIN_CODEC_TOKEN.*bind to 127\\.0\\.0\\.1`));
        return true;
      });
    }
    // No key at all: nothing to serve.
    await assert.rejects(buildCodecServer({ codec: undefined, token: TOKEN, logger }), /RETRAIN_PAYLOAD_KEY is not set/);
  });

  it('on loopback it answers loopback requests only (and a loopback Host, against DNS rebinding)', async () => {
    const app = await buildCodecServer({ codec, token: '', host: '127.0.0.1', logger });
    try {
      const body = JSON.stringify({ payloads: [] });
      const local = await app.inject({ method: 'POST', url: '/codec/decode', headers: { 'content-type': 'application/json' }, payload: body });
      assert.equal(local.statusCode, 200, local.body);
      const rebound = await app.inject({ method: 'POST', url: '/codec/decode', headers: { 'content-type': 'application/json', host: 'attacker.example:8091' }, payload: body });
      assert.equal(rebound.statusCode, 403);
      const remote = await app.inject({ method: 'POST', url: '/codec/decode', remoteAddress: '10.1.2.3', headers: { 'content-type': 'application/json' }, payload: body });
      assert.equal(remote.statusCode, 403);
      assert.match(remote.json().message, /no RETRAIN_CODEC_TOKEN and answers loopback requests only/);
    } finally {
      await app.close();
    }
  });

  it('isLoopback', () => {
    for (const h of ['127.0.0.1', '127.3.2.1', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopback(h), h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '', undefined, '127.example.com']) assert.ok(!isLoopback(h), String(h));
  });
});

describe('`retrain codec-server` command', () => {
  const run = (args: string[], env: NodeJS.ProcessEnv) => startCli(['codec-server', ...args], { RETRAIN_CODEC_TOKEN: '', ...env });

  it('serves the UI origin it was given, with the token, and stops on SIGTERM', async () => {
    const key = randomBytes(32);
    const { child, output, exited } = run(['--port', '0', '--ui-origin', 'https://temporal.example.com'], {
      RETRAIN_PAYLOAD_KEY: key.toString('base64'),
      RETRAIN_PAYLOAD_KEY_ID: 'cli-key',
      RETRAIN_CODEC_TOKEN: TOKEN,
    });
    try {
      const deadline = Date.now() + 30_000;
      while (!/Codec endpoint\s+(\S+)/.test(output())) {
        if (Date.now() > deadline || child.exitCode !== null) assert.fail(`the codec server did not start:\n${output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const endpoint = /Codec endpoint\s+(\S+)/.exec(output())![1];
      assert.match(endpoint, /^http:\/\/127\.0\.0\.1:\d+\/codec$/);
      assert.match(output(), /encrypt with "cli-key"/);
      assert.match(output(), /--codec-auth "Bearer \$RETRAIN_CODEC_TOKEN"/);
      assert.ok(!output().includes(key.toString('base64')) && !output().includes(TOKEN), 'neither the key nor the token is printed');

      const [encrypted] = await new AesGcmPayloadCodec({ current: { id: 'cli-key', key } }).encode([defaultPayloadConverter.toPayload(SECRET)]);
      const res = await fetch(`${endpoint}/decode`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'default', authorization: `Bearer ${TOKEN}`, origin: 'https://temporal.example.com' }, body: JSON.stringify({ payloads: [json(encrypted)] }) });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), 'https://temporal.example.com');
      const body = (await res.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
      assert.deepEqual(JSON.parse(Buffer.from(body.payloads[0].data, 'base64').toString()), SECRET);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });

  it('without a key, or on 0.0.0.0 without a token, it exits 2 with the reason', async () => {
    const noKey = run(['--port', '0'], { RETRAIN_PAYLOAD_KEY: '', RETRAIN_PAYLOAD_OLD_KEYS: '' });
    assert.equal(await noKey.exited, 2);
    assert.match(noKey.output(), /retrain: environment: RETRAIN_PAYLOAD_KEY is not set/);
    const open = run(['--port', '0', '--host', '0.0.0.0'], { RETRAIN_PAYLOAD_KEY: randomBytes(32).toString('hex') });
    assert.equal(await open.exited, 2);
    assert.match(open.output(), /refusing to listen on 0\.0\.0\.0 without RETRAIN_CODEC_TOKEN/);
  });
});
