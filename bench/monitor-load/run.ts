/** The bench itself: set up, alternate Temporal and in-process rounds, print and save the results, clean up. `entry`: the script the children re-run in child mode. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { parseConfig } from '../../src/config/load.js';
import { connectClient, temporalTarget } from '../../src/runtime/connection.js';
import { desiredSchedules, reconcileSchedules } from '../../src/schedules/reconcile.js';
import { spawnChild, stopChild, waitForPollers, type Child } from './children.js';
import { args, codeState, DRIFT_EVERY, load, opt, PREDICTIONS_PER_MODEL, ROOT, settingsFor, sleep } from './common.js';
import type { DirectRound } from './direct-peer.js';
import { logProblems, tail } from './logs.js';
import { cpuSeconds, devServerPid, procStatus, RssSampler } from './proc.js';
import { configText, seed } from './seed.js';
import { mb, printTable, type DirectRow, type TemporalRow } from './table.js';
import { temporalRound } from './temporal-round.js';

export async function main(entry: string): Promise<void> {
  const models = opt('--models', 200);
  const rounds = opt('--rounds', 2);
  const concurrency = opt('--concurrency', 100);
  const roundTimeoutMs = opt('--round-timeout', 1_200) * 1000;
  const dir = mkdtempSync(path.join(tmpdir(), 'retrain-bench-monitors-'));
  const workerLog = path.join(dir, 'worker.log');
  const directLog = path.join(dir, 'direct.log');
  const serverLog = path.join(dir, 'dev-server.log');
  let server: Child | undefined;
  let client: Client | undefined;
  let worker: Child | undefined;
  let direct: Child | undefined;
  let sampler: RssSampler | undefined;
  let directSampler: RssSampler | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      sampler?.stop();
      directSampler?.stop();
      if (direct?.child.connected) {
        direct.child.send({ type: 'stop' });
        await Promise.race([direct.exited, sleep(10_000)]);
      }
      await stopChild(direct, 10_000).catch(() => undefined);
      await stopChild(worker).catch(() => undefined);
      await client?.connection.close().catch(() => undefined);
      if (server?.child.connected) server.child.send('stop');
      await stopChild(server).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping the worker and the dev server, removing ${dir}\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    const cronMinute = (new Date().getUTCMinutes() + 30) % 60;
    const configFile = path.join(dir, 'retrain.yaml');
    writeFileSync(configFile, configText(models, cronMinute));
    const config = parseConfig(readFileSync(configFile, 'utf8'), configFile);
    const settings = settingsFor(dir);
    process.stdout.write(
      `monitor load: ${models} models (every ${DRIFT_EVERY}th drifted), monitor window 2h, ${PREDICTIONS_PER_MODEL} predictions/model over 3h, label delay 1h, cron "${cronMinute} * * * *"\n` +
        `machine: ${availableParallelism()} cores; load average at start: ${load()}; code: ${codeState()}\n`,
    );

    const tServer = performance.now();
    server = spawnChild([entry, '--dev-server-child', ...(args.includes('--in-memory-server') ? ['--in-memory-server'] : [])], { ...process.env, RETRAIN_DATA_DIR: dir }, serverLog, true);
    const serverExited = server.exited;
    const dev = await new Promise<{ address: string; namespace: string; dbFile?: string; tool: string }>((resolve, reject) => {
      server!.child.once('message', (m) => resolve(m as { address: string; namespace: string; dbFile?: string; tool: string }));
      void serverExited.then((code) => reject(new Error(`the dev server child exited (code ${code}):\n${tail(serverLog)}`)));
    });
    const devPid = devServerPid(server.child.pid!);
    process.stdout.write(`dev server ${dev.address}, pid ${devPid ?? '?'} (${dev.tool}; SQLite ${dev.dbFile ?? 'in memory'}, no UI) up in ${((performance.now() - tServer) / 1000).toFixed(1)} s\n`);

    const seeded = await seed(dir, config);
    process.stdout.write(
      `seeded in ${seeded.seconds.toFixed(1)} s (champion trained by seedChampion in ${seeded.trainSeconds.toFixed(1)} s, registered under ${models} names; ${seeded.rows} predictions, ${seeded.labels} labels)\n`,
    );

    client = await connectClient(temporalTarget({ address: dev.address, namespace: dev.namespace }));
    const tApply = performance.now();
    const changes = await reconcileSchedules(client, desiredSchedules(config, settings));
    const created = changes.filter((c) => c.change === 'create').length;
    process.stdout.write(`apply: ${created} schedules created in ${((performance.now() - tApply) / 1000).toFixed(1)} s\n`);
    if (created !== models) throw new Error(`expected ${models} schedules created, got ${created}`);

    // Payload encryption (RETRAIN_PAYLOAD_KEY*) stays off: this process reads the monitor results from the histories.
    const plainEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RETRAIN_PAYLOAD_')));
    const childEnv = {
      ...plainEnv,
      RETRAIN_DATA_DIR: dir,
      RETRAIN_CONFIG: configFile,
      RETRAIN_METRICS_PORT: '0',
      RETRAIN_LOG_PRETTY: '0',
      RETRAIN_LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: dev.address,
      TEMPORAL_NAMESPACE: dev.namespace,
    };
    const tWorker = performance.now();
    worker = spawnChild([path.join(ROOT, 'src/cli/main.ts'), 'worker'], childEnv, workerLog);
    sampler = new RssSampler(worker.child.pid!);
    await waitForPollers(client, settings.taskQueues.control, worker, workerLog);
    const workerIdle = procStatus(worker.child.pid!);
    process.stdout.write(`worker pid ${worker.child.pid} polling after ${((performance.now() - tWorker) / 1000).toFixed(1)} s (workflow bundle built); RSS ${mb(workerIdle.rss)}, VmHWM so far ${mb(workerIdle.hwm)}\n`);

    direct = spawnChild([entry, '--direct-child'], childEnv, directLog, true);
    const directReady = new Promise<void>((resolve, reject) => {
      direct!.child.once('message', () => resolve());
      void direct!.exited.then((code) => reject(new Error(`direct child exited (code ${code}):\n${tail(directLog)}`)));
    });
    await directReady;
    directSampler = new RssSampler(direct.child.pid!);
    process.stdout.write(`direct peer pid ${direct.child.pid} ready\n\n`);

    const temporal: TemporalRow[] = [];
    const directRounds: DirectRow[] = [];
    for (let round = 1; round <= rounds; round++) {
      // Temporal round
      const rssBefore = sampler.reset();
      const serverLogFrom = logProblems(serverLog).lines;
      const workerLogFrom = logProblems(workerLog).lines;
      let cpuW = cpuSeconds(worker.child.pid);
      let cpuS = cpuSeconds(devPid);
      let atClose = { rssPeak: 0, cpuWorker: 0, cpuServer: 0, load: '' };
      const t = await temporalRound(client, config.models, roundTimeoutMs, () => {
        atClose = { rssPeak: sampler!.peak(), cpuWorker: cpuSeconds(worker!.child.pid) - cpuW, cpuServer: cpuSeconds(devPid) - cpuS, load: load() };
      });
      const problemIds = t.problemRuns.map((line) => line.split(':')[0]);
      temporal.push({
        ...t,
        rssBefore,
        ...atClose,
        serverProblems: logProblems(serverLog, serverLogFrom).problems,
        serverProblemsOfProblemRuns: problemIds.length ? logProblems(serverLog, serverLogFrom, problemIds).problems : new Map(),
        workerProblems: logProblems(workerLog, workerLogFrom).problems,
      });
      process.stderr.write(`round ${round} via Temporal: ${(t.roundMs / 1000).toFixed(1)} s\n`);
      await sleep(2_000);

      // Direct rounds: the peer, then the diagnosis variant without the HTML report
      for (const reports of [true, false]) {
        const dBefore = directSampler.reset();
        cpuW = cpuSeconds(direct.child.pid);
        cpuS = cpuSeconds(devPid);
        const reply = new Promise<DirectRound>((resolve) => direct!.child.once('message', (m) => resolve(m as DirectRound)));
        direct.child.send({ type: 'round', concurrency, reports });
        const d = await reply;
        directRounds.push({ ...d, rssBefore: dBefore, rssPeak: directSampler.peak(), cpuChild: cpuSeconds(direct.child.pid) - cpuW, cpuServer: cpuSeconds(devPid) - cpuS, load: load() });
        process.stderr.write(`round ${round} in-process${reports ? '' : ' without the HTML report'}: ${(d.wallMs / 1000).toFixed(1)} s\n`);
        await sleep(2_000);
      }
    }
    const workerEnd = procStatus(worker.child.pid!);
    const directEnd = procStatus(direct.child.pid!);
    printTable(models, concurrency, temporal, directRounds, workerIdle, workerEnd, directEnd);

    const outDir = path.join(ROOT, 'bench', '.out');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(
      path.join(outDir, 'monitor-load-result.json'),
      JSON.stringify({ models, concurrency, loadavgEnd: loadavg(), temporal, direct: directRounds, worker: { idle: workerIdle, end: workerEnd }, directEnd }, (_k, v) => (v instanceof Map ? Object.fromEntries(v) : v), 2),
    );
    const failures =
      temporal.reduce((n, t) => n + (models - (t.statuses.COMPLETED ?? 0)) + t.activityRetries + t.workflowTaskProblems + t.pipelinesStarted, 0) + directRounds.reduce((n, d) => n + d.errors.length, 0);
    if (failures > 0) {
      process.stdout.write(`\nFAILED: ${failures} problem(s) counted as failed runs + activity retries + workflow task failures/timeouts + started pipelines + in-process errors (see above)\n`);
      process.exitCode = 1;
    }
  } catch (err) {
    process.stderr.write(`\nmonitor bench failed: ${(err as Error).stack ?? err}\n--- worker log (tail) ---\n${tail(workerLog)}\n--- direct peer log (tail) ---\n${tail(directLog)}\n`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}
