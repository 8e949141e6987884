/** The soak's end: first/last p99, memory slopes, lake counts, the criteria and the verdict (also saved as JSON). */
import { loadavg } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { quantile } from '../gateway-shared.js';
import { CONNECTIONS, fmtMs, INTERVAL_S, JOIN_INDEX_CAPACITY, load, mb, MINUTES, PHASES, RATE, ROOT, SHARE } from './common.js';
import { slope, type Recorder } from './sampling.js';

type LakeCounters = { rowsLogged: number; rowsPending: number; flushFailures: number; rowsDropped: number };

/** What the run measured, handed over for judging. */
export interface SoakMeasurements {
  /** Milliseconds of load (start of the first instance to the end of the last). */
  loadEndMs: number;
  predict: Recorder;
  feedback: Recorder;
  /** [minutes since start, MB] samples. */
  rssPoints: Array<[number, number]>;
  heapPoints: Array<[number, number]>;
  endStatus: { rss: number; hwm: number };
  served200: number;
  servedOther: number;
  feedbackServer: number;
  feedbackMatched: number;
  feedbackUnmatchedSent: number;
  lakePred: LakeCounters;
  lakeLab: LakeCounters;
  rows: number;
  labelRows: number;
  deadLetters: number;
  exitCode: number | null;
}

/** Prints the summary and the criteria, writes bench/.out/gateway-soak-result.json; true when steady. */
export function reportSoak(m: SoakMeasurements): boolean {
  const { loadEndMs, predict, feedback, rssPoints, heapPoints, endStatus, served200, servedOther, feedbackServer, feedbackMatched, feedbackUnmatchedSent, lakePred, lakeLab, rows, labelRows, deadLetters, exitCode } = m;
  const runMs = loadEndMs;
  const W = Math.min(60_000, runMs / 2); // "first/last minute" (half the run when shorter than 2 min)
  const first = predict.window(0, W);
  const last = predict.window(runMs - W, runMs + 1);
  const p99First = quantile(first, 0.99);
  const p99Last = quantile(last, 0.99);
  const warm = Math.min(1, MINUTES / 2); // minutes of warm-up: 1, or half a short run
  const after = (pts: Array<[number, number]>) => pts.filter(([t]) => t >= warm);
  const rssWarm = after(rssPoints)[0]?.[1] ?? Number.NaN;
  const rssEnd = rssPoints.at(-1)![1];
  const rssSlope = slope(after(rssPoints));
  const heapSlope = slope(after(heapPoints).filter(([, y]) => Number.isFinite(y)));
  // The leak test proper. RSS is a sawtooth (V8 grows the heap, a major GC hands 30-70 MB back),
  // so a slope fitted from just after a drop overstates growth: the window judged is the second
  // half of the run, and never before the join index is full. Heap used (main thread) is judged
  // on the same window: a JS leak shows there first; RSS alone also catches native growth (the
  // lake writer thread's DuckDB, buffers).
  const runMin = runMs / 60_000;
  const indexFullMin = JOIN_INDEX_CAPACITY / RATE / 60;
  const rssSlopeIndexFull = slope(rssPoints.filter(([t]) => t >= Math.max(warm, indexFullMin + 0.5)));
  const flatFrom = Math.max(warm, indexFullMin + 0.5, runMin / 2);
  const judgeMemory = runMin - flatFrom >= 3; // at least 3 minutes to fit a slope on
  const rssSlopeFlat = slope(rssPoints.filter(([t]) => t >= flatFrom));
  const heapSlopeFlat = slope(heapPoints.filter(([t, y]) => t >= flatFrom && Number.isFinite(y)));
  // p99 trend after warm-up, per interval: the relative rise it implies over the run.
  const intervalP99: Array<[number, number]> = [];
  for (let i = 0; (i + 1) * INTERVAL_S * 1000 <= runMs + 1; i++) {
    const mid = (i + 0.5) * INTERVAL_S;
    if (mid / 60 < warm) continue;
    intervalP99.push([mid / 60, quantile(predict.window(i * INTERVAL_S * 1000, (i + 1) * INTERVAL_S * 1000), 0.99)]);
  }
  const medianP99 = quantile(Float64Array.from(intervalP99.map((p) => p[1])).sort(), 0.5);
  const p99Rise = slope(intervalP99) * (runMs / 60_000 - warm);

  const P99_RATIO_MAX = 1.5;
  const P99_RISE_MAX = 0.5; // the fitted p99 trend may rise by at most half the median interval p99 over the run
  const RSS_SLOPE_MAX = 1; // MB/min over the judged window, i.e. < 10 MB per 10 minutes
  const HEAP_SLOPE_MAX = 0.5; // MB/min
  const predictSent = predict.ok + predict.non2xx + predict.errors;
  const feedbackSent = feedback.ok + feedback.non2xx + feedback.errors;
  const checks = {
    p99Ratio: p99Last / p99First <= P99_RATIO_MAX,
    p99Trend: !(p99Rise > P99_RISE_MAX * medianP99),
    rss: !judgeMemory || rssSlopeFlat <= RSS_SLOPE_MAX,
    heap: !judgeMemory || !(heapSlopeFlat > HEAP_SLOPE_MAX),
    errors: predict.non2xx + predict.errors + feedback.non2xx + feedback.errors === 0,
    lakePredictions: rows === served200 && rows === predict.ok,
    lakeLabels: labelRows === feedback.ok,
    nothingDropped: lakePred.rowsDropped + lakeLab.rowsDropped + deadLetters === 0,
  };
  const steady = Object.values(checks).every(Boolean);
  const mark = (ok: boolean) => (ok ? 'ok' : 'FAILED');
  const window = W === 60_000 ? 'minute' : `${(W / 1000).toFixed(0)} s`;
  const summary = [
    '',
    `run: ${(runMs / 1000).toFixed(1)} s of load; ${predictSent} predict requests (${(predictSent / (runMs / 1000)).toFixed(0)}/s achieved), ${feedbackSent} feedback requests`,
    `load average at end: ${load()}`,
    '',
    `p99, first ${window} vs last ${window}     ${fmtMs(p99First)} -> ${fmtMs(p99Last)}  (ratio ${(p99Last / p99First).toFixed(2)})   p50 ${fmtMs(quantile(first, 0.5))} -> ${fmtMs(quantile(last, 0.5))}`,
    `p99 per interval after warm-up       median ${fmtMs(medianP99)}, max ${fmtMs(Math.max(...intervalP99.map((p) => p[1])))}, fitted trend ${p99Rise >= 0 ? '+' : ''}${fmtMs(p99Rise)} over the run`,
    `gateway RSS at ${warm} min vs end        ${rssWarm.toFixed(1)} MB -> ${rssEnd.toFixed(1)} MB (peak VmHWM ${mb(endStatus.hwm).toFixed(1)} MB)`,
    `RSS slope after ${warm} min (least sq.)   ${rssSlope.toFixed(2)} MB/min; V8 heap used ${heapSlope.toFixed(2)} MB/min (${after(heapPoints)[0]?.[1].toFixed(1)} -> ${heapPoints.at(-1)![1].toFixed(1)} MB)`,
    `join index full at ${indexFullMin.toFixed(1)} min; RSS slope from ${Math.max(warm, indexFullMin + 0.5).toFixed(1)} min ${rssSlopeIndexFull.toFixed(2)} MB/min`,
    `judged window from ${flatFrom.toFixed(1)} min                ${judgeMemory ? `RSS ${rssSlopeFlat.toFixed(2)} MB/min, heap used ${heapSlopeFlat.toFixed(2)} MB/min` : 'not judged (needs >= 3 min of run in it)'}`,
    `errors                               predict: ${predict.non2xx} non-2xx, ${predict.errors} socket errors/timeouts; feedback: ${feedback.non2xx} non-202, ${feedback.errors} errors`,
    `predictions: answered 200 (client)   ${predict.ok}`,
    `             served 200 (gateway)    ${served200}${servedOther ? ` (+${servedOther} non-200)` : ''}`,
    `             logged (gateway metric) ${lakePred.rowsLogged}, pending ${lakePred.rowsPending}, flush failures ${lakePred.flushFailures}, dropped ${lakePred.rowsDropped}`,
    `             rows in the lake        ${rows}   ${rows === served200 && rows === predict.ok ? 'match: nothing lost' : `MISMATCH (lake - answered = ${rows - predict.ok})`}`,
    `labels:      accepted 202 (client)   ${feedback.ok} (${feedbackMatched} matched a served prediction, ${feedbackUnmatchedSent} sent with an unknown id; gateway counted ${feedbackServer})`,
    `             logged (gateway metric) ${lakeLab.rowsLogged}, flush failures ${lakeLab.flushFailures}, dropped ${lakeLab.rowsDropped}`,
    `             rows in the lake        ${labelRows}   ${labelRows === feedback.ok ? 'match: nothing lost' : `MISMATCH (lake - accepted = ${labelRows - feedback.ok})`}`,
    `dead-letter files: ${deadLetters}; gateway exit code after SIGTERM: ${exitCode}`,
    '',
    'criteria:',
    ...[
      [`p99 last/first ${window} <= ${P99_RATIO_MAX}`, mark(checks.p99Ratio)],
      [`fitted p99 rise over the run <= ${P99_RISE_MAX} x median interval p99`, mark(checks.p99Trend)],
      [`RSS slope from ${flatFrom.toFixed(1)} min (2nd half, join index full) <= ${RSS_SLOPE_MAX} MB/min`, judgeMemory ? mark(checks.rss) : 'not judged'],
      [`V8 heap used slope over the same window <= ${HEAP_SLOPE_MAX} MB/min`, judgeMemory ? mark(checks.heap) : 'not judged'],
      ['no errors', mark(checks.errors)],
      ["lake prediction rows = answered 200s = gateway's served 200s", mark(checks.lakePredictions)],
      ['lake label rows = accepted feedback', mark(checks.lakeLabels)],
      ['no rows dropped or dead-lettered', mark(checks.nothingDropped)],
    ].map(([what, result]) => `  ${what.padEnd(66)} ${result}`),
    `verdict: ${steady ? 'steady' : 'not steady'}${judgeMemory ? '' : ' (memory not judged: run too short)'}`,
    '',
  ];
  process.stdout.write(summary.join('\n'));
  const outDir = path.join(ROOT, 'bench', '.out');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    path.join(outDir, 'gateway-soak-result.json'),
    JSON.stringify(
      {
        config: { minutes: MINUTES, rate: RATE, feedbackShare: SHARE, phases: PHASES, connections: CONNECTIONS },
        loadavgEnd: loadavg(),
        p99FirstMs: p99First,
        p99LastMs: p99Last,
        intervalP99,
        rssPoints,
        heapPoints,
        rssSlopeMbPerMin: rssSlope,
        heapSlopeMbPerMin: heapSlope,
        flatFromMin: flatFrom,
        rssSlopeIndexFullMbPerMin: rssSlopeIndexFull,
        rssSlopeFlatMbPerMin: judgeMemory ? rssSlopeFlat : null,
        heapSlopeFlatMbPerMin: judgeMemory ? heapSlopeFlat : null,
        counts: { predictSent, predictOk: predict.ok, served200, lakeRows: rows, feedbackSent, feedbackOk: feedback.ok, labelRows, deadLetters },
        checks,
        verdict: steady ? 'steady' : 'not steady',
      },
      null,
      2,
    ),
  );
  return steady;
}
