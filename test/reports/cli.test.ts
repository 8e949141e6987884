import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openBackends, type Backends } from '../../src/activities/index.js';
import { parseConfig } from '../../src/config/load.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { seedChampion } from '../../src/demo/seed.js';
import { createLogger } from '../../src/runtime/logger.js';
import { createGateway, type Gateway } from '../../src/serving/index.js';
import { createGenerator, driftPlan, runSimulation } from '../../src/demo/simulator/index.js';
import { runCli, startCli } from '../helpers/cli.js';
import { fraudModelYaml } from '../helpers/fraud-model.js';

/** `retrain report <model>` on a real lake and registry, and `retrain serve-reports` over HTTP. */
const TOKEN = 'report-cli-token';
const dataDir = mkdtempSync(path.join(tmpdir(), 'retrain-report-cli-'));
const configFile = path.join(dataDir, 'retrain.yaml');
const yaml = (url: string) =>
  `models:${fraudModelYaml(
    'report-fraud',
    url,
    `
    data: { monitorWindow: 10m }
    triggers: { drift: { minSamples: 100 } }`,
  )}`;

describe('retrain report and serve-reports', () => {
  let gateway: Gateway;
  let backends: Backends;
  const env = { RETRAIN_DATA_DIR: dataDir, RETRAIN_ADMIN_TOKEN: TOKEN };

  before(async () => {
    const logger = createLogger({ level: 'warn', pretty: false, destination: process.stderr });
    gateway = await createGateway({ config: parseConfig(yaml('http://127.0.0.1:1')), dataDir, logger, adminToken: TOKEN });
    const url = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
    writeFileSync(configFile, yaml(url));
    const config = parseConfig(yaml(url));
    process.env.RETRAIN_ADMIN_TOKEN = TOKEN;
    backends = openBackends({ config, settings: { ...runtimeSettings(), dataDir }, logger });
    await seedChampion(backends, config.models[0], { historyDays: 2, rowsPerDay: 1_000 });
    // A few seconds of drifted traffic through the real gateway, logged to the lake.
    const spec = config.models[0];
    await runSimulation({ gateway: url, model: spec.name, generator: createGenerator(spec, { seed: 4, drift: driftPlan('sudden', 0) }), drift: driftPlan('sudden', 0), rate: 200, durationMs: 2_500, labelDelayMs: 0 });
    await gateway.close(); // flushes the prediction log
  });

  after(async () => {
    await backends?.close();
  });

  it('writes a self-contained drift report for a model and says where', async () => {
    const result = await runCli(['--config', configFile, 'report', 'report-fraud'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /report-fraud: \d+ predictions/);
    assert.match(result.stdout, /drift drift: .*transaction_amount/);
    const file = /report: (\S+)/.exec(result.stdout)?.[1];
    assert.ok(file && existsSync(file), result.stdout);
    const html = readFileSync(file, 'utf8');
    assert.match(html, /<svg/);
    assert.doesNotMatch(html, /<script|https?:\/\/[^"]*\.(js|css)/i);

    const json = await runCli(['--config', configFile, '--json', 'report', 'report-fraud'], env);
    const check = JSON.parse(json.stdout) as { drift: { verdict: string }; reportUrl: string };
    assert.equal(check.drift.verdict, 'drift');
    assert.match(check.reportUrl, /^http:\/\/localhost:8092\/reports\/report-fraud\/checks\/.+\.html$/);
  });

  it('an unknown model is a clear error and writes nothing', async () => {
    const result = await runCli(['--config', configFile, 'report', 'nope'], env);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown model "nope" \(known: report-fraud\)/);
    assert.equal(existsSync(path.join(dataDir, 'reports', 'nope')), false);
  });

  it('serve-reports lists models and serves the reports, and nothing outside them', async () => {
    const server = startCli(['serve-reports', '--port', '0'], env);
    try {
      let base: string | undefined;
      for (let i = 0; i < 300 && !base; i++) {
        base = /Reports\s+(http\S+)/.exec(server.output())?.[1];
        if (!base) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(base, server.output());
      const index = await fetch(base);
      assert.equal(index.status, 200);
      assert.match(await index.text(), /report-fraud/);
      const latest = await fetch(`${base}/report-fraud/latest-check.html`);
      assert.equal(latest.status, 200);
      assert.match(latest.headers.get('content-type') ?? '', /text\/html/);
      const listing = await (await fetch(`${base}/report-fraud/index`)).text();
      assert.match(listing, /checks\//);
      assert.match(latest.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.equal(latest.headers.get('x-content-type-options'), 'nosniff');
      const escape = await fetch(`${base}/..%2F..%2Fregistry.db`);
      assert.ok([400, 403, 404].includes(escape.status), `status ${escape.status}`);
      // A symlink planted in the reports folder and a dot file are not served.
      const reports = path.join(dataDir, 'reports', 'report-fraud');
      writeFileSync(path.join(dataDir, 'outside-secret.txt'), 'secret');
      symlinkSync(path.join(dataDir, 'outside-secret.txt'), path.join(reports, 'linked.html'));
      writeFileSync(path.join(reports, '.hidden.html'), 'hidden');
      for (const name of ['linked.html', '.hidden.html']) {
        const res = await fetch(`${base}/report-fraud/${name}`);
        assert.equal(res.status, 404, name);
        assert.ok(!(await res.text()).includes('secret'));
      }
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
