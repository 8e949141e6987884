import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { ConfigError } from '../../src/config/load.js';
import {
  AesGcmPayloadCodec,
  dataConverterFromEnv,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  PayloadDecryptionError,
  payloadCodecFromEnv,
} from '../../src/security/payload-codec.js';

const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
const newKey = () => randomBytes(32);
const toPayload = (v: unknown) => defaultPayloadConverter.toPayload(v);
const fromPayload = (p: Payload) => defaultPayloadConverter.fromPayload(p);

const SECRET = { model: 'fraud', comment: 'approved by Alice: churn spike in segment B', metrics: { auc: 0.91 } };

describe('AES-GCM payload codec', () => {
  it('round-trips values of every kind, metadata included', async () => {
    const codec = new AesGcmPayloadCodec({ current: { id: 'k1', key: newKey() } });
    const values = [SECRET, 'text', 42, null, undefined, new Uint8Array([0, 1, 2, 255]), [1, 'two', { three: 3 }]];
    const payloads = values.map(toPayload);
    const encoded = await codec.encode(payloads);
    assert.equal(encoded.length, values.length);
    for (const p of encoded) {
      assert.equal(text(p.metadata?.encoding), ENCRYPTED_ENCODING);
      assert.equal(text(p.metadata?.[KEY_ID_METADATA]), 'k1');
      assert.deepEqual(Object.keys(p.metadata ?? {}).sort(), ['encoding', KEY_ID_METADATA].sort(), 'the original encoding is hidden inside the ciphertext');
    }
    const decoded = await codec.decode(encoded);
    assert.deepEqual(decoded.map((p) => text(p.metadata?.encoding)), payloads.map((p) => text(p.metadata?.encoding)));
    assert.deepEqual(decoded.map(fromPayload), values);
    assert.ok(decoded.every((p) => p.data instanceof Uint8Array));
  });

  it('the ciphertext does not contain the plaintext, and every encoding differs (random IV)', async () => {
    const codec = new AesGcmPayloadCodec({ current: { id: 'k1', key: newKey() } });
    const payload = toPayload(SECRET);
    const a = await codec.encode([payload, payload]);
    const b = await codec.encode([payload]);
    const datas = [a[0].data!, a[1].data!, b[0].data!].map((d) => Buffer.from(d).toString('hex'));
    assert.equal(new Set(datas).size, 3, 'same plaintext, three different ciphertexts');
    const ivs = datas.map((d) => d.slice(0, 24));
    assert.equal(new Set(ivs).size, 3, 'three different IVs');
    for (const p of [...a, ...b]) {
      assert.ok(!Buffer.from(p.data!).includes('churn spike'), 'no plaintext in the ciphertext');
      // iv (12) + protobuf of the original payload + tag (16)
      assert.ok(p.data!.byteLength > 12 + 16 + Buffer.from(payload.data!).length);
    }
  });

  it('payloads that are not binary/encrypted pass through decode unchanged', async () => {
    const codec = new AesGcmPayloadCodec({ current: { id: 'k1', key: newKey() } });
    const plain = [toPayload({ a: 1 }), toPayload(null), {}];
    const decoded = await codec.decode(plain);
    assert.equal(decoded[0], plain[0]);
    assert.equal(decoded[1], plain[1]);
    assert.equal(decoded[2], plain[2]);
  });

  it('a single altered byte anywhere fails authentication, naming the key id', async () => {
    const key = newKey();
    const codec = new AesGcmPayloadCodec({ current: { id: 'prod-2025', key } });
    const [encoded] = await codec.encode([toPayload(SECRET)]);
    const length = encoded.data!.byteLength;
    for (const at of [0, 5, 12, Math.floor(length / 2), length - 17, length - 1]) {
      const data = Buffer.from(encoded.data!);
      data[at] ^= 0x01;
      await assert.rejects(
        codec.decode([{ ...encoded, data }]),
        (err: Error) => {
          assert.ok(err instanceof PayloadDecryptionError);
          assert.equal(err.keyId, 'prod-2025');
          assert.match(err.message, /cannot decrypt payload with key id "prod-2025": authentication failed/);
          assert.ok(!err.message.includes(key.toString('base64')) && !err.message.includes(key.toString('hex')));
          return true;
        },
        `byte ${at} of ${length}`,
      );
    }
    // Truncated data is refused too.
    await assert.rejects(codec.decode([{ ...encoded, data: encoded.data!.subarray(0, 20) }]), /"prod-2025".*truncated/);
    // A different key under the same id: authentication fails.
    const other = new AesGcmPayloadCodec({ current: { id: 'prod-2025', key: newKey() } });
    await assert.rejects(other.decode([encoded]), /key id "prod-2025": authentication failed/);
  });

  it('an unknown key id is a clear error that names it', async () => {
    const writer = new AesGcmPayloadCodec({ current: { id: 'team-a', key: newKey() } });
    const reader = new AesGcmPayloadCodec({ current: { id: 'team-b', key: newKey() } });
    const encoded = await writer.encode([toPayload(SECRET)]);
    await assert.rejects(reader.decode(encoded), (err: Error) => {
      assert.ok(err instanceof PayloadDecryptionError);
      assert.equal(err.keyId, 'team-a');
      assert.match(err.message, /encryption key id "team-a" is not configured \(known: "team-b"\)/);
      assert.match(err.message, /RETRAIN_PAYLOAD_OLD_KEYS/);
      return true;
    });
    const noId = { metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING) }, data: encoded[0].data };
    await assert.rejects(reader.decode([noId]), /no encryption-key-id metadata/);
  });

  it('the key never shows in inspect output', () => {
    const key = newKey();
    const codec = new AesGcmPayloadCodec({ current: { id: 'k1', key } });
    const shown = inspect(codec, { depth: 10, showHidden: true });
    assert.ok(!shown.includes(key.toString('hex')) && !shown.includes(key.toString('base64')));
    assert.ok(!JSON.stringify(codec).includes(key.toString('base64')));
  });
});

describe('keys from the environment', () => {
  it('no key: no codec and no data converter (encryption is opt-in)', () => {
    assert.equal(payloadCodecFromEnv({}), undefined);
    assert.equal(dataConverterFromEnv({}), undefined);
    assert.equal(payloadCodecFromEnv({ RETRAIN_PAYLOAD_KEY: '  ', RETRAIN_PAYLOAD_KEY_ID: 'x' }), undefined);
  });

  it('base64, base64url and hex keys of 32 bytes are accepted; the id defaults to "default"', async () => {
    const key = newKey();
    for (const form of [key.toString('base64'), key.toString('base64url'), key.toString('hex'), key.toString('hex').toUpperCase(), ` ${key.toString('base64')}\n`]) {
      const codec = payloadCodecFromEnv({ RETRAIN_PAYLOAD_KEY: form })!;
      assert.equal(codec.keyId, 'default');
      // All forms are the same key: each decodes what another encoded.
      const reference = new AesGcmPayloadCodec({ current: { id: 'default', key } });
      assert.deepEqual(fromPayload((await reference.decode(await codec.encode([toPayload(SECRET)])))[0]), SECRET);
    }
    const dc = dataConverterFromEnv({ RETRAIN_PAYLOAD_KEY: key.toString('hex'), RETRAIN_PAYLOAD_KEY_ID: 'v7' });
    assert.equal(dc?.payloadCodecs?.length, 1);
    assert.equal((dc!.payloadCodecs![0] as AesGcmPayloadCodec).keyId, 'v7');
  });

  it('rotation: the new key encrypts, old keys still decrypt, and a codec without the old key cannot', async () => {
    const k1 = newKey().toString('base64');
    const k2 = newKey().toString('hex');
    const before = payloadCodecFromEnv({ RETRAIN_PAYLOAD_KEY: k1, RETRAIN_PAYLOAD_KEY_ID: 'k1' })!;
    const old = await before.encode([toPayload(SECRET)]);

    const after = payloadCodecFromEnv({ RETRAIN_PAYLOAD_KEY: k2, RETRAIN_PAYLOAD_KEY_ID: 'k2', RETRAIN_PAYLOAD_OLD_KEYS: `k1:${k1}` })!;
    assert.deepEqual(after.keyIds, ['k2', 'k1']);
    assert.deepEqual(fromPayload((await after.decode(old))[0]), SECRET, 'history written with k1 still reads');
    const fresh = await after.encode([toPayload(SECRET)]);
    assert.equal(text(fresh[0].metadata?.[KEY_ID_METADATA]), 'k2', 'new payloads use the new key');
    await assert.rejects(before.decode(fresh), /key id "k2" is not configured/);

    const forgot = payloadCodecFromEnv({ RETRAIN_PAYLOAD_KEY: k2, RETRAIN_PAYLOAD_KEY_ID: 'k2' })!;
    await assert.rejects(forgot.decode(old), /key id "k1" is not configured/);

    // Several old keys, spaces and a trailing comma tolerated.
    const k0 = newKey().toString('base64');
    const many = payloadCodecFromEnv({ RETRAIN_PAYLOAD_KEY: k2, RETRAIN_PAYLOAD_KEY_ID: 'k2', RETRAIN_PAYLOAD_OLD_KEYS: ` k1:${k1} , k0:${k0},` })!;
    assert.deepEqual(many.keyIds, ['k2', 'k1', 'k0']);
  });

  it('old keys alone: decrypt-only (turning encryption off while encrypted history remains)', async () => {
    const k1 = newKey().toString('base64');
    const encrypted = await payloadCodecFromEnv({ RETRAIN_PAYLOAD_KEY: k1, RETRAIN_PAYLOAD_KEY_ID: 'k1' })!.encode([toPayload(SECRET)]);
    const off = payloadCodecFromEnv({ RETRAIN_PAYLOAD_OLD_KEYS: `k1:${k1}` })!;
    assert.equal(off.keyId, undefined);
    const plain = [toPayload(SECRET)];
    assert.equal((await off.encode(plain))[0], plain[0], 'new payloads are left in plain JSON');
    assert.deepEqual(fromPayload((await off.decode(encrypted))[0]), SECRET);
  });

  it('bad keys give a message with the length and format found, never the key material', () => {
    const cases: Array<{ env: NodeJS.ProcessEnv; message: RegExp }> = [
      { env: { RETRAIN_PAYLOAD_KEY: randomBytes(16).toString('base64') }, message: /RETRAIN_PAYLOAD_KEY: expected 32 bytes as base64 \(44 characters.*or hex \(64 characters.*found 24 characters of base64, which decodes to 16 bytes/ },
      { env: { RETRAIN_PAYLOAD_KEY: randomBytes(24).toString('hex') }, message: /found 48 characters of hex, which is 24 bytes/ },
      { env: { RETRAIN_PAYLOAD_KEY: randomBytes(33).toString('base64') }, message: /found 44 characters of base64, which decodes to 33 bytes/ },
      { env: { RETRAIN_PAYLOAD_KEY: 'correct horse battery staple, my secret!' }, message: /found 40 characters that are neither base64 nor hex/ },
      { env: { RETRAIN_PAYLOAD_KEY: 'hunter2' }, message: /found 7 characters/ },
      { env: { RETRAIN_PAYLOAD_KEY: newKey().toString('base64'), RETRAIN_PAYLOAD_OLD_KEYS: `old:${randomBytes(20).toString('hex')}` }, message: /RETRAIN_PAYLOAD_OLD_KEYS entry 1 \(id "old"\): .*found 40 characters of hex, which is 20 bytes/ },
      { env: { RETRAIN_PAYLOAD_KEY: newKey().toString('base64'), RETRAIN_PAYLOAD_OLD_KEYS: randomBytes(32).toString('hex') }, message: /RETRAIN_PAYLOAD_OLD_KEYS entry 1: expected "id:key"/ },
      { env: { RETRAIN_PAYLOAD_KEY: newKey().toString('base64'), RETRAIN_PAYLOAD_KEY_ID: 'k', RETRAIN_PAYLOAD_OLD_KEYS: `k:${newKey().toString('hex')}` }, message: /key id "k" is already configured as RETRAIN_PAYLOAD_KEY_ID/ },
      { env: { RETRAIN_PAYLOAD_KEY: newKey().toString('base64'), RETRAIN_PAYLOAD_KEY_ID: 'has space' }, message: /RETRAIN_PAYLOAD_KEY_ID: expected 1-64 characters/ },
    ];
    for (const c of cases) {
      assert.throws(
        () => payloadCodecFromEnv(c.env),
        (err: Error) => {
          assert.ok(err instanceof ConfigError, err.message);
          assert.match(err.message, c.message);
          const keys = [c.env.RETRAIN_PAYLOAD_KEY, ...(c.env.RETRAIN_PAYLOAD_OLD_KEYS ?? '').split(',').map((e) => e.slice(e.indexOf(':') + 1))];
          for (const key of keys) if (key) assert.ok(!err.message.includes(key), `the message must not contain the key: ${err.message}`);
          return true;
        },
      );
    }
    // Every problem is reported at once.
    assert.throws(() => payloadCodecFromEnv({ RETRAIN_PAYLOAD_KEY: 'short', RETRAIN_PAYLOAD_OLD_KEYS: 'a:b,c' }), (err: ConfigError) => err.problems.length === 3);
  });
});
