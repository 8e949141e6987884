import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { METADATA_ENCODING_KEY, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { ConfigError } from '../config/load.js';

/**
 * Opt-in encryption of every Temporal payload (workflow and activity inputs and results, signals,
 * queries, updates, memos, summaries) with AES-256-GCM, before it leaves the process. The
 * Temporal server, its database and anyone reading history without the key see ciphertext.
 *
 * Wire format (compatible with the official samples of the other SDKs): metadata
 * `encoding: binary/encrypted` and `encryption-key-id: <id>`; data = 12-byte random IV | ciphertext
 * | 16-byte GCM tag, where the plaintext is the whole original Payload (its metadata too) serialized
 * as a `temporal.api.common.v1.Payload` protobuf.
 *
 * Keys come from the environment (see payloadCodecFromEnv) and are held as KeyObjects, so a key
 * never shows up in a log line, an error message or `util.inspect` output.
 */

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const ALGORITHM = 'aes-256-gcm';

const ProtoPayload = proto.temporal.api.common.v1.Payload;
const utf8 = (s: string) => Buffer.from(s, 'utf8');
const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : undefined);

/** A payload the codec cannot decrypt: unknown key id, tampered or truncated data. Names the key id, never the key. */
export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
  constructor(
    message: string,
    readonly keyId: string | undefined,
  ) {
    super(message);
  }
}

export interface PayloadKey {
  id: string;
  /** 32 bytes. */
  key: Uint8Array | KeyObject;
}

export interface AesGcmCodecOptions {
  /** The key new payloads are encrypted with; absent: encode passes payloads through (decrypt-only codec). */
  current?: PayloadKey;
  /** Older keys, accepted to decrypt only (rotation). */
  previous?: PayloadKey[];
}

const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly keys = new Map<string, KeyObject>();
  private readonly currentId: string | undefined;
  private readonly currentIdBytes: Uint8Array | undefined;

  constructor(options: AesGcmCodecOptions) {
    for (const k of [...(options.current ? [options.current] : []), ...(options.previous ?? [])]) {
      if (!KEY_ID_PATTERN.test(k.id)) throw new Error(`invalid payload key id ${JSON.stringify(k.id)}: expected 1-64 characters of A-Z a-z 0-9 . _ -`);
      const key = 'type' in k.key && k.key.type === 'secret' ? k.key : createSecretKey(k.key as Uint8Array);
      if (key.symmetricKeySize !== KEY_BYTES) throw new Error(`payload key "${k.id}" has ${key.symmetricKeySize} bytes; AES-256-GCM needs ${KEY_BYTES}`);
      if (this.keys.has(k.id)) throw new Error(`payload key id "${k.id}" is configured twice`);
      this.keys.set(k.id, key);
    }
    this.currentId = options.current?.id;
    this.currentIdBytes = this.currentId === undefined ? undefined : utf8(this.currentId);
  }

  /** The id new payloads are encrypted under (undefined for a decrypt-only codec). */
  get keyId(): string | undefined {
    return this.currentId;
  }

  /** Every key id this codec can decrypt. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    if (this.currentId === undefined) return payloads;
    const key = this.keys.get(this.currentId)!;
    return payloads.map((payload) => {
      const plaintext = ProtoPayload.encode(payload).finish();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
      const data = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: this.currentIdBytes! }, data };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload; // not ours: unchanged
      const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
      if (!keyId) throw new PayloadDecryptionError(`cannot decrypt a ${ENCRYPTED_ENCODING} payload: it has no ${KEY_ID_METADATA} metadata`, undefined);
      const key = this.keys.get(keyId);
      if (!key) {
        throw new PayloadDecryptionError(
          `cannot decrypt payload: encryption key id "${keyId}" is not configured (known: ${this.keyIds.map((id) => `"${id}"`).join(', ') || 'none'}); ` +
            'set RETRAIN_PAYLOAD_KEY/RETRAIN_PAYLOAD_KEY_ID, or add it to RETRAIN_PAYLOAD_OLD_KEYS',
          keyId,
        );
      }
      const data = payload.data ?? new Uint8Array();
      if (data.byteLength < IV_BYTES + TAG_BYTES) {
        throw new PayloadDecryptionError(`cannot decrypt payload with key id "${keyId}": ${data.byteLength} bytes is shorter than IV + tag (${IV_BYTES + TAG_BYTES}); the payload is truncated`, keyId);
      }
      const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const iv = bytes.subarray(0, IV_BYTES);
      const tag = bytes.subarray(bytes.length - TAG_BYTES);
      const ciphertext = bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES);
      let plaintext: Buffer;
      try {
        const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
        decipher.setAuthTag(tag);
        plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
      } catch {
        throw new PayloadDecryptionError(
          `cannot decrypt payload with key id "${keyId}": authentication failed (the payload was altered, or the key configured as "${keyId}" is not the one it was encrypted with)`,
          keyId,
        );
      }
      const decoded = ProtoPayload.decode(plaintext);
      // Absent fields read as protobufjs's shared empty array; callers expect a Uint8Array.
      const out: Payload = { metadata: decoded.metadata, data: decoded.data instanceof Uint8Array ? decoded.data : new Uint8Array(decoded.data ?? []) };
      if (decoded.externalPayloads?.length) out.externalPayloads = decoded.externalPayloads;
      return out;
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Keys from the environment

/**
 * RETRAIN_PAYLOAD_KEY (32 bytes, base64 or hex), RETRAIN_PAYLOAD_KEY_ID (default "default"),
 * RETRAIN_PAYLOAD_OLD_KEYS ("id:key,id:key", decrypt only). Without RETRAIN_PAYLOAD_KEY there is
 * no codec (encryption is opt-in), unless old keys are listed: then the codec decrypts with them
 * and encrypts nothing new (how encryption is turned off while encrypted history remains).
 */
export function payloadCodecFromEnv(env: NodeJS.ProcessEnv = process.env): AesGcmPayloadCodec | undefined {
  const rawKey = env.RETRAIN_PAYLOAD_KEY?.trim();
  const rawOld = env.RETRAIN_PAYLOAD_OLD_KEYS?.trim();
  if (!rawKey && !rawOld) return undefined;
  const problems: string[] = [];
  let current: PayloadKey | undefined;
  if (rawKey) {
    const id = env.RETRAIN_PAYLOAD_KEY_ID?.trim() || 'default';
    if (!KEY_ID_PATTERN.test(id)) problems.push(`RETRAIN_PAYLOAD_KEY_ID: expected 1-64 characters of A-Z a-z 0-9 . _ - (got ${JSON.stringify(id)})`);
    const parsed = parseKey(rawKey);
    if (typeof parsed === 'string') problems.push(`RETRAIN_PAYLOAD_KEY: ${parsed}`);
    else current = { id, key: parsed };
  }
  const previous: PayloadKey[] = [];
  const seen = new Set(current ? [current.id] : []);
  (rawOld ? rawOld.split(',') : []).forEach((entry, i) => {
    const where = `RETRAIN_PAYLOAD_OLD_KEYS entry ${i + 1}`;
    const trimmed = entry.trim();
    if (!trimmed) return; // a trailing comma
    const colon = trimmed.indexOf(':');
    if (colon <= 0) {
      problems.push(`${where}: expected "id:key" (key id, a colon, then the key as base64 or hex)`);
      return;
    }
    const id = trimmed.slice(0, colon).trim();
    if (!KEY_ID_PATTERN.test(id)) {
      problems.push(`${where}: key id must be 1-64 characters of A-Z a-z 0-9 . _ - (got ${JSON.stringify(id.slice(0, 64))})`);
      return;
    }
    if (seen.has(id)) {
      problems.push(`${where}: key id "${id}" is already configured${current?.id === id ? ' as RETRAIN_PAYLOAD_KEY_ID (the current key)' : ''}`);
      return;
    }
    seen.add(id);
    const parsed = parseKey(trimmed.slice(colon + 1).trim());
    if (typeof parsed === 'string') problems.push(`${where} (id "${id}"): ${parsed}`);
    else previous.push({ id, key: parsed });
  });
  if (problems.length > 0) throw new ConfigError('environment', problems);
  return new AesGcmPayloadCodec({ current, previous });
}

/** `{ payloadCodecs: [codec] }` for Client / Worker options, or undefined when encryption is off. */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const codec = payloadCodecFromEnv(env);
  return codec ? { payloadCodecs: [codec] } : undefined;
}

const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/**
 * 32 bytes from hex (64 characters) or base64 / base64url (43-44 characters). On failure, a
 * description of what was found (length, apparent format, decoded size), never the value.
 */
export function parseKey(value: string): KeyObject | string {
  const expected = `expected ${KEY_BYTES} bytes as base64 (44 characters, e.g. \`openssl rand -base64 32\`) or hex (64 characters, \`openssl rand -hex 32\`)`;
  const found = `found ${value.length} characters`;
  if (value.length === 0) return `${expected}; found an empty value`;
  if (HEX.test(value) && value.length === KEY_BYTES * 2) return createSecretKey(Buffer.from(value, 'hex'));
  const b64 = BASE64.test(value) || BASE64URL.test(value);
  if (b64 && value.replace(/=+$/, '').length % 4 !== 1) {
    const bytes = Buffer.from(value, BASE64.test(value) ? 'base64' : 'base64url');
    if (bytes.length === KEY_BYTES) return createSecretKey(bytes);
    if (HEX.test(value) && value.length % 2 === 0) return `${expected}; ${found} of hex, which is ${value.length / 2} bytes`;
    return `${expected}; ${found} of base64, which decodes to ${bytes.length} bytes`;
  }
  return `${expected}; ${found} that are neither base64 nor hex`;
}
