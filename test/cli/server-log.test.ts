import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { serverLogged, shellQuote } from '../../src/cli/server-log.js';
import type { ResolvedTool } from '../../src/runtime/temporal-binaries.js';

/**
 * The Temporal dev server's own output (its banner, its JSON warnings) goes to a log file in the
 * data directory, not into the terminal the tour narrates in (issue 16).
 */
const dir = mkdtempSync(path.join(tmpdir(), "retrain-server-log-it's "));

describe('the dev server log', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the server through a wrapper that sends stdout and stderr to <dataDir>/logs/temporal-server.log, with the same arguments', () => {
    // A stand-in server that talks on both streams, with a quote in its path.
    const fake = path.join(dir, "fake 'temporal'");
    writeFileSync(fake, '#!/bin/sh\necho "Temporal Server: localhost:7233 args: $*"\necho \'{"level":"WARN","msg":"workflow task failed"}\' >&2\n');
    chmodSync(fake, 0o755);
    const tool: ResolvedTool = { tool: 'cli', executable: { type: 'existing-path', path: fake }, source: 'env', description: 'fake' };
    const dataDir = path.join(dir, 'data');
    const logged = serverLogged(tool, dataDir, 'linux');
    assert.equal(logged.logFile, path.join(dataDir, 'logs', 'temporal-server.log'));
    assert.equal(logged.tool.description, 'fake');
    assert.equal(logged.tool.executable.type, 'existing-path');
    const wrapper = (logged.tool.executable as { path: string }).path;
    const run = spawnSync(wrapper, ['server', 'start-dev', '--port', '7233'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, '', 'nothing on the terminal');
    assert.equal(run.stderr, '');
    assert.equal(readFileSync(logged.logFile!, 'utf8'), 'Temporal Server: localhost:7233 args: server start-dev --port 7233\n{"level":"WARN","msg":"workflow task failed"}\n');
    spawnSync(wrapper, ['again'], { encoding: 'utf8' });
    assert.match(readFileSync(logged.logFile!, 'utf8'), /args: again\n/, 'a restart appends');
  });

  it('the SDK\'s own download cannot be wrapped, nor anything on Windows: the server keeps the terminal', () => {
    const download: ResolvedTool = { tool: 'cli', executable: { type: 'cached-download' }, source: 'sdk-download', description: 'sdk' };
    assert.deepEqual(serverLogged(download, dir, 'linux'), { tool: download });
    const onDisk: ResolvedTool = { tool: 'cli', executable: { type: 'existing-path', path: '/x/temporal.exe' }, source: 'path', description: 'x' };
    assert.deepEqual(serverLogged(onDisk, dir, 'win32'), { tool: onDisk });
    assert.equal(shellQuote("a 'b'"), `'a '\\''b'\\'''`);
  });
});
