import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { adminToken, adminTokenFile, devAdminToken } from '../../src/cli/admin-token.js';

/** The dev stack's admin token: kept in the data directory, found there by every command (issue 16). */
const dir = mkdtempSync(path.join(tmpdir(), 'retrain-admin-token-'));

describe('the dev stack admin token', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('dev makes one up, writes it for its owner only, and keeps it across restarts; commands read it', () => {
    const dataDir = path.join(dir, 'data');
    assert.equal(adminToken(dataDir, {}), undefined);
    const first = devAdminToken(dataDir, {});
    assert.equal(first.file, adminTokenFile(dataDir));
    assert.match(first.token, /^[A-Za-z0-9_-]{24}$/);
    assert.equal(statSync(first.file!).mode & 0o777, 0o600);
    assert.equal(readFileSync(first.file!, 'utf8'), `${first.token}\n`);
    assert.deepEqual(devAdminToken(dataDir, {}), first, 'a restart keeps the token');
    assert.equal(adminToken(dataDir, {}), first.token);
  });

  it('RETRAIN_ADMIN_TOKEN wins everywhere, and dev then writes nothing', () => {
    const dataDir = path.join(dir, 'set');
    assert.deepEqual(devAdminToken(dataDir, { RETRAIN_ADMIN_TOKEN: 'from-env' }), { token: 'from-env' });
    assert.equal(adminToken(dataDir, { RETRAIN_ADMIN_TOKEN: 'from-env' }), 'from-env');
    assert.equal(adminToken(dataDir, {}), undefined);
  });
});
