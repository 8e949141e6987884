import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { TopLevelSpec } from 'vega-lite';
import { distributionSpec } from '../../src/reports/charts.js';
import { renderCheckReport, renderPipelineReport, renderSvg } from '../../src/reports/index.js';
import { driftScenario, pipelineInput } from './helpers.js';

describe('charts render offline', () => {
  const attempts: string[] = [];
  const realFetch = globalThis.fetch;
  const realConnect = net.Socket.prototype.connect;
  before(() => {
    globalThis.fetch = (async (url: unknown) => {
      attempts.push(`fetch ${String(url)}`);
      throw new Error('network disabled in this test');
    }) as typeof fetch;
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      attempts.push(`connect ${JSON.stringify(args[0])}`);
      throw new Error('network disabled in this test');
    } as typeof net.Socket.prototype.connect;
  });
  after(() => {
    globalThis.fetch = realFetch;
    net.Socket.prototype.connect = realConnect;
  });

  it('renders both reports without any network access', async () => {
    const { report } = driftScenario(1500);
    const check = await renderCheckReport({
      model: 'm', checkedAt: '2024-05-02T00:00:00Z', window: { from: '2024-05-01T00:00:00Z', to: '2024-05-02T00:00:00Z', rows: 1500 },
      champion: { version: 1, trainedAt: '2024-04-01T00:00:00Z' }, drift: report, newLabels: 0, history: [],
    });
    const run = await renderPipelineReport(pipelineInput());
    assert.ok(check.includes('<svg') && run.includes('<svg'));
    assert.deepEqual(attempts, []);
  });

  it('refuses a spec that asks to load data from a URL instead of fetching it', async () => {
    const spec = { data: { url: 'https://example.com/data.json' }, mark: 'bar', encoding: { x: { field: 'a', type: 'nominal' } } } as TopLevelSpec;
    await assert.rejects(renderSvg(spec), /refused to load/);
    assert.deepEqual(attempts, []);
  });

  it('gives inline SVG without XML namespace URLs', async () => {
    const svg = await renderSvg({ data: { values: [{ a: 'x', b: 1 }] }, mark: 'bar', encoding: { x: { field: 'a', type: 'nominal' }, y: { field: 'b', type: 'quantitative' } } } as TopLevelSpec);
    assert.match(svg, /^<svg version="1.1" class="marks" width="\d+" height="\d+"/);
    assert.doesNotMatch(svg, /https?:/);
  });

  it('reuses a parsed chart shape for new data, also for renders running at the same time', async () => {
    const { report } = driftScenario(1500);
    const numerical = report.features.filter((f) => f.type === 'numerical');
    assert.ok(numerical.length >= 3);
    const norm = (svg: string) => svg.replace(/clip\d+/g, 'clip');
    const one = await Promise.all(numerical.map((f) => renderSvg(distributionSpec(f)!)));
    const again = [];
    for (const f of [...numerical].reverse()) again.unshift(await renderSvg(distributionSpec(f)!));
    assert.deepEqual(one.map(norm), again.map(norm));
    assert.equal(new Set(one.map(norm)).size, numerical.length, 'each feature draws its own bars');
    // Each chart shows its own bin labels.
    for (const [i, f] of numerical.entries()) {
      const firstEdge = String(Number((f as { binEdges: number[] }).binEdges[1].toPrecision(3)));
      assert.ok(one[i].includes(`&lt; ${firstEdge}</text>`), `${f.feature}: no label < ${firstEdge}`);
    }
    assert.deepEqual(attempts, []);
  });
});
