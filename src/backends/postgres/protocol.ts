/** Messages between PostgresBridge (the calling thread) and its worker thread. */
export type StoreKind = 'registry' | 'deployment';

export type BridgeRequest =
  | { cmd: 'open'; kind: StoreKind; url: string }
  | { cmd: 'call'; handle: number; op: string; args: unknown[] }
  | { cmd: 'close'; handle: number };

export type BridgeReply = { ok: true; value: unknown } | { ok: false; error: { name: string; message: string; code?: string } };
