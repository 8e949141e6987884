import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

/**
 * `retrain dev` (what `npm run dev` runs) with ports that something else holds: it refuses before
 * starting anything, one line per port naming the port, what needed it and the variable that moves
 * it, exit 2; it never starts a server whose port is taken, nor joins the one listening there.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'retrain-dev-ports-'));
const held: net.Server[] = [];

/** A port held by this test until the end (the system picks a free one). */
async function holdPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  held.push(server);
  return (server.address() as net.AddressInfo).port;
}

describe('retrain dev refuses clearly when a port it needs is taken', () => {
  const ports = { temporal: 0, ui: 0, gateway: 0, reports: 0, metrics: 0, codec: 0 };

  before(async () => {
    for (const name of Object.keys(ports) as Array<keyof typeof ports>) ports[name] = await holdPort();
  });
  after(async () => {
    await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  const dev = (env: NodeJS.ProcessEnv, command = 'dev') =>
    runCli([command], {
      RETRAIN_DATA_DIR: path.join(dir, 'data'),
      RETRAIN_TEMPORAL_PORT: String(ports.temporal),
      RETRAIN_UI_PORT: String(ports.ui),
      RETRAIN_GATEWAY_PORT: String(ports.gateway),
      RETRAIN_REPORTS_PORT: String(ports.reports),
      RETRAIN_METRICS_PORT: String(ports.metrics),
      RETRAIN_CODEC_PORT: String(ports.codec),
      TEMPORAL_ADDRESS: '',
      RETRAIN_PAYLOAD_KEY: '',
      RETRAIN_PAYLOAD_OLD_KEYS: '',
      ...env,
    });

  it('every taken port on its own line, exit 2, and nothing started', async () => {
    const startedAt = Date.now();
    const { code, stdout, stderr } = await dev({});
    const seconds = (Date.now() - startedAt) / 1000;
    assert.equal(code, 2, stderr);
    assert.equal(stdout, '');
    assert.deepEqual(stderr.trimEnd().split('\n'), [
      `retrain: environment: port ${ports.temporal} (the Temporal dev server's gRPC frontend) is in use: set RETRAIN_TEMPORAL_PORT to a free port, or set TEMPORAL_ADDRESS=127.0.0.1:${ports.temporal} to use the server listening there instead of starting one`,
      `environment: port ${ports.ui} (the Temporal web UI) is in use: set RETRAIN_UI_PORT to a free port`,
      `environment: port ${ports.gateway} (the gateway) is in use: set RETRAIN_GATEWAY_PORT to a free port`,
      `environment: port ${ports.reports} (the reports server) is in use: set RETRAIN_REPORTS_PORT to a free port`,
      `environment: port ${ports.metrics} (the worker's Prometheus metrics) is in use: set RETRAIN_METRICS_PORT to a free port, or 0 to turn them off`,
    ]);
    // Before any Temporal server, worker or bundle: the time of a CLI start, not of a dev start.
    assert.ok(seconds < 20, `took ${seconds} s`);
    assert.equal(existsSync(path.join(dir, 'data', 'temporal.db')), false, 'no Temporal dev server was started');
  });

  it('with TEMPORAL_ADDRESS it starts no server, so only the ports it still binds are checked', async () => {
    const { code, stderr } = await dev({ TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`, RETRAIN_METRICS_PORT: '0' });
    assert.equal(code, 2, stderr);
    assert.deepEqual(stderr.trimEnd().split('\n'), [
      `retrain: environment: port ${ports.gateway} (the gateway) is in use: set RETRAIN_GATEWAY_PORT to a free port`,
      `environment: port ${ports.reports} (the reports server) is in use: set RETRAIN_REPORTS_PORT to a free port`,
    ]);
  });

  it('with payload encryption on, the codec server port too; one port set for two needs is named once', async () => {
    const { code, stderr } = await dev({
      TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
      RETRAIN_METRICS_PORT: '0',
      RETRAIN_REPORTS_PORT: String(ports.gateway),
      RETRAIN_PAYLOAD_KEY: randomBytes(32).toString('base64'),
    });
    assert.equal(code, 2, stderr);
    assert.deepEqual(stderr.trimEnd().split('\n'), [
      `retrain: environment: port ${ports.gateway} is needed by the gateway (RETRAIN_GATEWAY_PORT) and the reports server (RETRAIN_REPORTS_PORT): set one of them to another port`,
      `environment: port ${ports.codec} (the codec server) is in use: set RETRAIN_CODEC_PORT to a free port`,
    ]);
  });

  it('retrain worker names the metrics port and its variable when the Prometheus endpoint cannot bind', async () => {
    const { code, stderr } = await dev({ TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}` }, 'worker');
    assert.equal(code, 2, stderr);
    assert.equal(stderr, `retrain: environment: port ${ports.metrics} (the worker's Prometheus metrics) is in use: set RETRAIN_METRICS_PORT to a free port, or 0 to turn them off\n`);
  });
});
