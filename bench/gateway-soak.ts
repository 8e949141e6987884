/**
 * Gateway soak: the real gateway (`retrain serve`, in a child process, lake logging on, champion +
 * 10% challenger deployed through its control plane) under a fixed rate of predict requests
 * (default 1,000 req/s) plus feedback for a share of them (default 20%) for N minutes (default 10).
 * Claim checked: p99 stays steady, memory stays flat (no leak) and nothing is lost on the way to
 * the lake.
 *
 *   npx tsx bench/gateway-soak.ts [--minutes 10] [--rate 1000] [--feedback-share 0.2]
 *                                 [--interval 30] [--phases 10] [--connections 5]
 *
 * Load: autocannon in this process, as in bench/gateway.ts (the server has the child process to
 * itself). autocannon paces a fixed rate per connection in one-second bursts (each connection
 * sends its quota for the second back to back, then waits), so one instance at 1,000 req/s is a
 * burst of 1,000 requests at the start of every second. To spread the load over the second, the
 * rate is split over `--phases` instances started 1/phases s apart, each with `--connections`
 * connections; each instance sends a fixed `amount` (rate x duration), so the number of requests
 * is exact. Feedback instances (same phasing, half a slot later) send `{request_id, label}` for
 * every k-th answered prediction (k = 1/share), with the generator's ground-truth label.
 *
 * Every `--interval` seconds: requests, errors, p50/p99 of predict latency in that interval (from
 * every response time autocannon reports), gateway RSS (/proc/<pid>/status VmRSS) and V8 heap used
 * (the gateway's /metrics, prom-client default metrics). RSS and heap are sampled every 5 s for
 * the slopes. At the end: first vs last minute p99, RSS after warm-up vs at the end and the
 * least-squares slope after minute 1, and lake rows (read back through the lake backend after
 * the gateway has flushed and exited) vs requests answered. Results also go to
 * bench/.out/gateway-soak-result.json.
 *
 * Verdict "steady" when all hold (printed with the figures): p99 of the last minute <= 1.5x the
 * first; the p99 trend fitted over the 30 s intervals after warm-up rises by at most half their
 * median; RSS slope <= 1 MB/min and V8 heap-used slope <= 0.5 MB/min over the second half of the
 * run (and only once the feedback join index is full; runs too short for 3 minutes of that are
 * not judged on memory); no errors; lake rows = answered predictions = the gateway's own count;
 * lake label rows = accepted feedback; nothing dropped or dead-lettered. Exit code 1 otherwise.
 *
 * Layout (bench/gateway-soak/): common.ts (options, helpers), gateway-child.ts (the gateway
 * process and its memory readings), sampling.ts (per-interval recorders, slope), report.ts (summary
 * and verdict).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { createLakeBackend } from '../src/backends/data/lake/index.js';
import { createLogger, setLogger } from '../src/runtime/logger.js';
import { FRAUD_FEATURES } from '../src/demo/simulator/fraud.js';
import { autocannon, FEEDBACK_ROUTE, fraudSpec, labelledBodies, metricsOf, MODEL, promSum, quantile, ROUTE, writeBenchArtifacts, type AutocannonInstance } from './gateway-shared.js';
import { CONNECTIONS, fmtMs, INTERVAL_S, load, mb, MINUTES, PHASES, RATE, SAMPLE_MS, SHARE, sleep } from './gateway-soak/common.js';
import { admin, heapUsed, startGateway, statusOf, type GatewayChild } from './gateway-soak/gateway-child.js';
import { reportSoak } from './gateway-soak/report.js';
import { Recorder } from './gateway-soak/sampling.js';

setLogger(createLogger({ level: 'warn', pretty: false, destination: process.stderr }));

// ------------------------------------------------------------------ main
async function main(): Promise<void> {
  const seconds = Math.round(MINUTES * 60);
  const dir = mkdtempSync(path.join(tmpdir(), 'retrain-bench-soak-'));
  let gateway: GatewayChild | undefined;
  const instances: AutocannonInstance[] = [];
  try {
    const { v1, v2 } = writeBenchArtifacts(dir);
    // YAML is a superset of JSON: the fraud model exactly as fraudModelSpec() declares it.
    const configFile = path.join(dir, 'retrain.yaml');
    writeFileSync(
      configFile,
      JSON.stringify({ version: 1, models: [{ name: MODEL, task: 'binary_classification', features: FRAUD_FEATURES.map((f) => ({ ...f })), label: { name: 'is_fraud', delay: '1h' }, serving: { entityKey: 'entity_id' } }] }, null, 2),
    );
    gateway = await startGateway(dir, configFile);
    const pid = gateway.child.pid!;
    await admin(gateway.url, 'champion', { version: '1', artifactUri: v1 });
    await admin(gateway.url, 'challenger', { version: '2', artifactUri: v2, weight: 10 });

    const samples = labelledBodies(10_000);
    const every = SHARE > 0 ? Math.max(1, Math.round(1 / SHARE)) : 0;
    const feedbackRate = every ? RATE / every : 0;
    process.stdout.write(
      [
        `gateway soak: ${MINUTES} min, predict ${RATE} req/s + feedback ${feedbackRate} req/s (every ${every || '-'}th answered prediction), ${PHASES} phases x ${CONNECTIONS} connections`,
        `gateway: retrain serve (pid ${pid}) at ${gateway.url}, champion v1 + challenger v2 at 10%, lake logging on, data dir ${dir}`,
        `load average at start: ${load()} (${availableParallelism()} cores)`,
        '',
        'interval     predict  fb    errors  p50        p99        RSS       heap used   load avg',
      ].join('\n') + '\n',
    );

    // Feedback queue: ids of answered predictions with their ground truth (FIFO; the consumed head is dropped now and then).
    const queue: Array<{ id: string; label: number }> = [];
    let head = 0;
    let captured = 0;
    let feedbackMatched = 0;
    let feedbackUnmatchedSent = 0;

    const t0 = Date.now();
    const predict = new Recorder(t0, 200, true);
    const feedback = new Recorder(t0, 202, false);
    const rssPoints: Array<[number, number]> = [];
    const heapPoints: Array<[number, number]> = [];

    const sampleMemory = async () => {
      const at = (Date.now() - t0) / 60_000;
      rssPoints.push([at, mb(statusOf(pid).rss)]);
      heapPoints.push([at, mb(await heapUsed(gateway!.port))]);
    };
    await sampleMemory();
    const sampler = setInterval(() => void sampleMemory(), SAMPLE_MS);

    // Live interval lines.
    let printed = 0;
    const printInterval = (i: number) => {
      const from = i * INTERVAL_S * 1000;
      const to = from + INTERVAL_S * 1000;
      const w = predict.window(from, to);
      const p = predict.byInterval[i] ?? { answered: 0, non2xx: 0, errors: 0 };
      const f = feedback.byInterval[i] ?? { answered: 0, non2xx: 0, errors: 0 };
      const rss = rssPoints.at(-1)?.[1] ?? Number.NaN;
      const heap = heapPoints.at(-1)?.[1] ?? Number.NaN;
      const errors = p.non2xx + p.errors + f.non2xx + f.errors;
      process.stdout.write(
        `${`${from / 1000}-${to / 1000} s`.padEnd(12)} ${String(p.answered).padStart(7)}  ${String(f.answered).padStart(5)} ${String(errors).padStart(7)}  ${fmtMs(quantile(w, 0.5)).padStart(9)}  ${fmtMs(quantile(w, 0.99)).padStart(9)}  ${`${rss.toFixed(1)} MB`.padStart(8)}  ${`${heap.toFixed(1)} MB`.padStart(9)}   ${load()}\n`,
      );
    };
    const ticker = setInterval(() => {
      const done = Math.floor((Date.now() - t0) / (INTERVAL_S * 1000));
      while (printed < done) printInterval(printed++);
    }, 250);

    const predictPerPhase = RATE / PHASES;
    const feedbackPerPhase = feedbackRate / PHASES;
    const runs: Promise<unknown>[] = [];
    const startInstance = (options: Record<string, unknown>, rec: Recorder) => {
      const instance = autocannon({ url: gateway!.url, ...options });
      instance.on('response', (_c, status, _b, ms) => rec.response(status, ms));
      instance.on('reqError', () => rec.error());
      instances.push(instance);
      runs.push(Promise.resolve(instance));
    };
    for (let k = 0; k < PHASES; k++) {
      const slotMs = 1000 / PHASES;
      await sleep(Math.max(0, t0 + k * slotMs - Date.now()));
      let next = k * 997;
      startInstance(
        {
          connections: Math.min(CONNECTIONS, Math.max(1, Math.floor(predictPerPhase))),
          overallRate: predictPerPhase,
          amount: Math.round(predictPerPhase * seconds),
          requests: [
            {
              method: 'POST',
              path: ROUTE,
              headers: { 'content-type': 'application/json' },
              setupRequest: (req: Record<string, unknown>, context: { k?: number }) => {
                const i = next++ % samples.length;
                context.k = i;
                return { ...req, body: samples[i].body };
              },
              onResponse: (status: number, body: string, context: { k?: number }) => {
                if (status !== 200 || !every || captured++ % every !== 0) return;
                const id = /"request_id":"([^"]+)"/.exec(body)?.[1];
                if (id) queue.push({ id, label: samples[context.k!].label });
              },
            },
          ],
        },
        predict,
      );
    }
    if (feedbackRate > 0) {
      for (let k = 0; k < PHASES; k++) {
        const slotMs = 1000 / PHASES;
        // Half a slot after the predict phases, and a second in, so answered predictions are waiting.
        await sleep(Math.max(0, t0 + 1000 + (k + 0.5) * slotMs - Date.now()));
        startInstance(
          {
            connections: Math.min(2, Math.max(1, Math.floor(feedbackPerPhase))),
            overallRate: feedbackPerPhase,
            amount: Math.round(feedbackPerPhase * (seconds - 1)),
            requests: [
              {
                method: 'POST',
                path: FEEDBACK_ROUTE,
                headers: { 'content-type': 'application/json' },
                setupRequest: (req: Record<string, unknown>) => {
                  let item = head < queue.length ? queue[head++] : undefined;
                  if (head > 50_000) (queue.splice(0, head), (head = 0));
                  if (!item) (feedbackUnmatchedSent++, (item = { id: randomUUID(), label: 0 }));
                  return { ...req, body: JSON.stringify({ request_id: item.id, label: item.label }) };
                },
                onResponse: (status: number, body: string) => {
                  if (status === 202) feedbackMatched += Number(/"matched":(\d+)/.exec(body)?.[1] ?? 0);
                },
              },
            ],
          },
          feedback,
        );
      }
    }
    await Promise.all(runs);
    const loadEndMs = Date.now() - t0;
    clearInterval(ticker);
    clearInterval(sampler);
    await sampleMemory();
    while (printed * INTERVAL_S * 1000 < loadEndMs) printInterval(printed++);
    const endStatus = statusOf(pid);

    // Server-side counts, then wait for the lake log to drain, then stop the gateway (it flushes) and read the lake back.
    const metricsText = await (await fetch(`${gateway.url}/metrics`)).text();
    const served200 = promSum(metricsText, 'retrain_gateway_requests_total', `model="${MODEL}"`, 'status="200"');
    const servedOther = promSum(metricsText, 'retrain_gateway_requests_total', `model="${MODEL}"`) - served200;
    const feedbackServer = promSum(metricsText, 'retrain_gateway_feedback_total', `model="${MODEL}"`);
    for (let i = 0; i < 40; i++) {
      const [p, l] = await Promise.all([metricsOf(gateway.port, 'predictions'), metricsOf(gateway.port, 'labels')]);
      if (p.rowsPending + l.rowsPending === 0) break;
      await sleep(250);
    }
    const lakePred = await metricsOf(gateway.port, 'predictions');
    const lakeLab = await metricsOf(gateway.port, 'labels');
    const exited = new Promise<number | null>((r) => gateway!.child.once('exit', (code) => r(code)));
    gateway.child.kill('SIGTERM');
    const exitCode = await exited;
    gateway = undefined;
    const lake = createLakeBackend({ dataDir: dir, threads: 1 });
    const spec = fraudSpec();
    const rows = (await lake.readWindow(spec, { from: new Date(t0 - 86_400_000), to: new Date(Date.now() + 86_400_000), variant: 'all' })).rowCount;
    const labelRows = await lake.countNewLabels(spec, new Date(0));
    await lake.close();
    const deadLetterDir = path.join(dir, 'serving', 'dead-letter');
    const deadLetters = existsSync(deadLetterDir) ? readdirSync(deadLetterDir).length : 0;

    const steady = reportSoak({
      loadEndMs,
      predict,
      feedback,
      rssPoints,
      heapPoints,
      endStatus,
      served200,
      servedOther,
      feedbackServer,
      feedbackMatched,
      feedbackUnmatchedSent,
      lakePred,
      lakeLab,
      rows,
      labelRows,
      deadLetters,
      exitCode,
    });
    process.exitCode = steady ? 0 : 1;
  } finally {
    for (const i of instances) i.stop();
    if (gateway) {
      const g = gateway;
      const exited = new Promise((r) => g.child.once('exit', r));
      g.child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000).then(() => g.child.kill('SIGKILL'))]);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
