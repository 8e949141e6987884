/** The results table printed at the end. */
import { quantile } from '../gateway-shared.js';
import { sorted } from './common.js';
import type { DirectRound } from './direct-peer.js';
import { problemText } from './logs.js';
import type { TemporalRound } from './temporal-round.js';

export type TemporalRow = TemporalRound & { rssBefore: number; rssPeak: number; cpuWorker: number; cpuServer: number; load: string; serverProblems: Map<string, number>; serverProblemsOfProblemRuns: Map<string, number>; workerProblems: Map<string, number> };

/** An in-process round with what the bench measured around it. */
export type DirectRow = DirectRound & { rssBefore: number; rssPeak: number; cpuChild: number; cpuServer: number; load: string };

export const mb = (bytes: number) => (Number.isFinite(bytes) ? `${Math.round(bytes / 2 ** 20)} MB` : 'n/a');
export const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const msf = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
export const p5095 = (xs: number[]) => {
  const s = sorted(xs.filter(Number.isFinite));
  return `${msf(quantile(s, 0.5))} / ${msf(quantile(s, 0.95))}`;
};
export const counts = (o: Record<string, number>) =>
  Object.entries(o)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

export function printTable(
  models: number,
  concurrency: number,
  temporal: TemporalRow[],
  direct: DirectRow[],
  workerIdle: { rss: number; hwm: number },
  workerEnd: { rss: number; hwm: number },
  directEnd: { rss: number; hwm: number },
): void {
  const cols: string[][] = [];
  const rowsLabels = [
    '',
    'round time (trigger -> last check closed)',
    'checks/s',
    'per check p50 / p95 (start -> close)',
    '  triggering all schedules took',
    '  first / last run started after',
    '  start -> checkModel scheduled p50 / p95',
    '  checkModel queue wait p50 / p95',
    '  checkModel run p50 / p95',
    '  checks running at once (peak)',
    '  event-loop delay p99 / max',
    '  checkModel done -> run closed p50 / p95',
    'process RSS before round / peak in round',
    'CPU s in round: checks process / dev server',
    'failed runs / activity retries / WFT failures',
    'pipelines started',
    'actions',
    'drift verdicts',
    'performance judged (>= 200 matured labels)',
    'HTML check reports written',
    'window rows / matured labels (median)',
    'load average at round end',
  ];
  const median = (xs: number[]) => quantile(sorted(xs), 0.5);
  temporal.forEach((t, i) => {
    const failed = models - (t.statuses.COMPLETED ?? 0);
    cols.push([
      `Temporal #${i + 1}`,
      sec(t.roundMs),
      (models / (t.roundMs / 1000)).toFixed(1),
      p5095(t.perCheck),
      sec(t.triggerMs),
      `${sec(t.firstStartMs)} / ${sec(t.lastStartMs)}`,
      p5095(t.firstTask),
      p5095(t.activityWait),
      p5095(t.activityRun),
      String(t.peakConcurrentChecks),
      '-',
      p5095(t.rest),
      `${mb(t.rssBefore)} / ${mb(t.rssPeak)}`,
      `${t.cpuWorker.toFixed(1)} / ${t.cpuServer.toFixed(1)}`,
      `${failed} / ${t.activityRetries} / ${t.workflowTaskProblems}`,
      String(t.pipelinesStarted),
      counts(t.outcomes.actions),
      counts(t.outcomes.drift),
      String(t.outcomes.performanceJudged),
      String(t.outcomes.reportsWritten),
      `${median(t.outcomes.windowRows)} / ${median(t.outcomes.maturedLabels)}`,
      t.load,
    ]);
  });
  const withReports = direct.filter((d) => d.reports);
  const withoutReports = direct.filter((d) => !d.reports);
  [...withReports, ...withoutReports].forEach((d) => {
    cols.push([
      `${d.reports ? 'in-process' : 'no report'} #${(d.reports ? withReports : withoutReports).indexOf(d) + 1}`,
      sec(d.wallMs),
      (models / (d.wallMs / 1000)).toFixed(1),
      p5095(d.durations),
      '-',
      '-',
      '-',
      '-',
      p5095(d.durations),
      String(Math.min(concurrency, models)),
      `${msf(d.loopDelay.p99)} / ${msf(d.loopDelay.max)}`,
      '-',
      `${mb(d.rssBefore)} / ${mb(d.rssPeak)}`,
      `${d.cpuChild.toFixed(1)} / ${d.cpuServer.toFixed(1)}`,
      `${d.errors.length} errors`,
      '-',
      counts(d.outcomes.actions),
      counts(d.outcomes.drift),
      String(d.outcomes.performanceJudged),
      String(d.outcomes.reportsWritten),
      `${median(d.outcomes.windowRows)} / ${median(d.outcomes.maturedLabels)}`,
      d.load,
    ]);
  });
  const w0 = Math.max(...rowsLabels.map((l) => l.length)) + 2;
  const widths = cols.map((c) => Math.max(...c.map((x) => x.length)) + 2);
  const lines = rowsLabels.map((label, r) => label.padEnd(w0) + cols.map((c, j) => c[r].padStart(widths[j])).join(''));
  process.stdout.write(
    [
      '',
      `${models} models, one worker (SDK defaults: 100 activity slots, 40 workflow task slots); in-process: the same checkModel calls in one process, ${concurrency} at a time;`,
      `no report: the same, with the check's HTML report skipped (diagnosis)`,
      ...lines,
      '',
      `worker RSS idle after start ${mb(workerIdle.rss)}, at end ${mb(workerEnd.rss)}; VmHWM (whole life, incl. bundling the workflows at start) ${mb(workerEnd.hwm)}`,
      `in-process peer RSS at end ${mb(directEnd.rss)}, VmHWM ${mb(directEnd.hwm)}`,
      `orchestration overhead (round time Temporal / in-process): ${temporal.map((t, i) => (t.roundMs / withReports[i].wallMs).toFixed(2)).join(', ')}`,
      `HTML report share of the in-process check CPU: ${withReports.map((d, i) => `${(100 * (1 - withoutReports[i].cpuChild / d.cpuChild)).toFixed(0)}%`).join(', ')}`,
      ...temporal.flatMap((t, i) => [
        `round ${i + 1}: workflow task problems: ${counts(t.workflowTaskDetails) || 'none'}`,
        ...t.problemRuns.slice(0, 3).map((line) => `  ${line}`),
        ...(t.problemRuns.length ? [`  dev server log lines naming these runs: ${problemText(t.serverProblemsOfProblemRuns)}`] : []),
        `round ${i + 1}: worker log warnings/errors: ${problemText(t.workerProblems)}`,
        `round ${i + 1}: dev server log warnings/errors: ${problemText(t.serverProblems)}`,
      ]),
      ...direct.flatMap((d) => d.errors.slice(0, 5).map((e) => `direct error: ${e}`)),
      '',
    ].join('\n'),
  );
}
