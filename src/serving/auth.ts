import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './errors.js';

/**
 * Bearer-token check of the control plane. Both sides are hashed first so timingSafeEqual always
 * compares two 32-byte buffers: the comparison takes the same time whatever the token's length or
 * content. With no token configured the control plane is closed (503), never open.
 */
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function adminGuard(token: string | undefined): (authorization: string | undefined) => void {
  const expected = token ? digest(token) : undefined;
  return (authorization) => {
    if (!expected) {
      throw new HttpError(503, 'admin_disabled', 'the control plane is disabled: start the gateway with RETRAIN_ADMIN_TOKEN set to enable it');
    }
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    if (!match) throw new HttpError(401, 'unauthorized', 'missing bearer token: send "Authorization: Bearer <RETRAIN_ADMIN_TOKEN>"');
    if (!timingSafeEqual(digest(match[1]), expected)) throw new HttpError(401, 'unauthorized', 'invalid admin token');
  };
}
