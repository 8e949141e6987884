import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { ControlAction } from '../../client.js';
import type { PipelineStatus } from '../../domain/status.js';
import { requireModel } from '../models.js';
import { configOption } from '../options.js';
import { withClient } from '../temporal-client.js';

const whoami = () => process.env.RETRAIN_USER ?? os.userInfo().username;

/** Commands that start, steer and inspect pipeline runs. */
export function registerRunCommands(program: Command): void {
  program
    .command('trigger <model>')
    .description('start a retraining run now (answers "already running" if one is in progress)')
    .option('--reason <text>', 'why, for the history and the ledger', 'manual trigger')
    .option('--as <name>', 'who is asking', whoami())
    .action(async (model: string, opts: { reason: string; as: string }) => {
      // Loaded on use, not at every start (see main.ts).
      const { startPipeline } = await import('../../client.js');
      const { runtimeSettings } = await import('../../config/settings.js');
      const { emit } = await import('../output.js');
      const options = configOption(program);
      const { spec } = await requireModel(options, model);
      const outcome = await withClient((client) => startPipeline(client, runtimeSettings(), spec, { kinds: ['manual'], reasons: [opts.reason], requestedBy: opts.as }));
      emit(options, outcome, () =>
        outcome.started ? `started ${outcome.workflowId} (run ${outcome.runId})` : `already running: ${outcome.workflowId} (run ${outcome.alreadyRunning}); nothing started`,
      );
    });

  for (const kind of ['approve', 'reject'] as const) {
    program
      .command(`${kind} <model>`)
      .description(`${kind} the run waiting for approval`)
      .requiredOption('--as <name>', 'your name, as listed in the model\'s approvers')
      .option('--comment <text>', 'why')
      .action(async (model: string, opts: { as: string; comment?: string }) => {
        const { decide } = await import('../../client.js');
        const { emit } = await import('../output.js');
        const options = configOption(program);
        await requireModel(options, model);
        const message = await withClient((client) => decide(client, model, kind, { by: opts.as, comment: opts.comment }));
        emit(options, { model, kind, by: opts.as, result: message }, () => message);
      });
  }

  const controls: Record<ControlAction, string> = {
    pause: 'pause the canary (the bake clock stops)',
    resume: 'resume a paused canary',
    abort: 'roll back now: all traffic to the champion',
    promote: 'skip the remaining canary steps and promote',
  };
  for (const [action, description] of Object.entries(controls) as Array<[ControlAction, string]>) {
    program
      .command(`${action} <model>`)
      .description(description)
      .option('--as <name>', 'who', whoami())
      .option('--comment <text>', 'why')
      .action(async (model: string, opts: { as: string; comment?: string }) => {
        const { control, pipelineStatus } = await import('../../client.js');
        const { emit } = await import('../output.js');
        const options = configOption(program);
        await requireModel(options, model);
        const { message, status } = await withClient(async (client) => {
          const message = await control(client, model, action, { by: opts.as, comment: opts.comment });
          return { message, status: await pipelineStatus(client, model) };
        });
        emit(options, { model, action, stage: status.stage, result: message }, () => `${message} (stage ${status.stage})`);
      });
  }

  program
    .command('status <model>')
    .description('stage, traffic, gates and decisions of the model\'s latest run')
    .action(async (model: string) => {
      const { pipelineStatus } = await import('../../client.js');
      const { runtimeSettings } = await import('../../config/settings.js');
      const { emit } = await import('../output.js');
      const options = configOption(program);
      await requireModel(options, model);
      const status = await withClient((client) => pipelineStatus(client, model));
      const reportFile = status.reportUrl ? reportFileOf(status.reportUrl, runtimeSettings()) : undefined;
      emit(options, reportFile ? { ...status, reportFile } : status, () => describeStatus(status, reportFile));
    });

  program
    .command('runs')
    .description('pipeline runs')
    .command('list')
    .description('list runs through visibility queries (e.g. --stage awaiting_approval)')
    .option('--model <model>')
    .option('--stage <stage>')
    .option('--trigger <trigger>')
    .option('--limit <n>', 'at most this many', (v) => Number.parseInt(v, 10), 20)
    .action(async (opts: { model?: string; stage?: string; trigger?: string; limit: number }) => {
      const { listRuns } = await import('../../client.js');
      const { emit } = await import('../output.js');
      const options = configOption(program);
      if (opts.model !== undefined) await requireModel(options, opts.model);
      const runs = await withClient((client) => listRuns(client, opts));
      const rows = runs.map((r) => ({
        workflowId: r.workflowId,
        runId: r.runId,
        status: r.status.name,
        stage: r.typedSearchAttributes.getAll().find((p) => p.key.name === 'RetrainStage')?.value ?? '',
        started: r.startTime.toISOString(),
      }));
      emit(options, rows, () => (rows.length === 0 ? 'no runs match' : rows.map((r) => `${r.workflowId}  ${r.status.padEnd(10)} ${String(r.stage).padEnd(18)} ${r.started}`).join('\n')));
    });
}

/**
 * The file behind a report URL of this data directory (`<reportsUrl>/<model>/runs/...` is
 * `<dataDir>/reports/<model>/runs/...`), so the report can be opened without the reports server;
 * undefined for another data directory's URL or a file not (or no longer) there.
 */
export function reportFileOf(url: string, settings: { reportsUrl: string; dataDir: string }): string | undefined {
  const prefix = `${settings.reportsUrl}/`;
  if (!url.startsWith(prefix)) return undefined;
  const parts = url.slice(prefix.length).split('/').map((p) => decodeURIComponent(p));
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes(path.sep))) return undefined;
  const file = path.join(settings.dataDir, 'reports', ...parts);
  return existsSync(file) ? file : undefined;
}

/** The human text of `retrain status`; `reportFile` is the run report on disk, when it is there. */
export function describeStatus(s: PipelineStatus, reportFile?: string): string {
  const lines = [
    `${s.model}: ${s.stage}${s.outcome ? ` (${s.outcome.result}: ${s.outcome.reason})` : ''}`,
    `  triggered by ${s.requestedBy}: ${s.triggers.join(', ')}`,
  ];
  if (s.candidateVersion !== undefined) lines.push(`  candidate v${s.candidateVersion}${s.datasetId ? ` on ${s.datasetId}` : ''}`);
  for (const g of s.gates) lines.push(`  gate ${g.passed ? '✔' : '✘'} ${g.name}: ${g.detail}`);
  if (s.approvalReasons.length) lines.push(`  approval: ${s.approvalReasons.join('; ')}`);
  if (s.preTraffic) {
    const p = s.preTraffic;
    lines.push(`  pre-traffic checks ${p.passed ? '✔' : '✘'} v${p.version}: ${p.scored} synthetic requests, p99 ${p.latencyMs.p99 ?? '—'} ms (budget ${p.budgetMs} ms) — ${p.reason}`);
  }
  lines.push(`  traffic: challenger ${s.traffic.challengerWeight}%${s.traffic.shadow ? ' (+shadow)' : ''}${s.traffic.paused ? ' (paused)' : ''}`);
  for (const step of s.steps ?? []) {
    const where = step.stage === 'shadow' ? 'shadow' : `${step.weight}%`;
    const verdict = step.verdict ? `${step.verdict}${step.evidence?.length ? ` on ${step.evidence.join(' + ')}` : ''}` : 'running';
    lines.push(`  step ${step.step} (${where}, bake ${step.bake}): ${verdict} after ${step.analyses} analyses${step.reason ? ` — ${step.reason}` : ''}`);
  }
  for (const a of s.analyses.slice(-3)) lines.push(`  analysis step ${a.step} @${a.weight}%: ${a.verdict} — ${a.detail}`);
  for (const d of s.decisions.slice(-5)) lines.push(`  ${d.accepted ? '✔' : '✘'} ${d.kind} by ${d.by}${d.detail ? `: ${d.detail}` : ''}`);
  if (s.reportUrl) {
    lines.push(`  report: ${s.reportUrl}${s.outcome ? '' : ' (interim, while the run goes on)'}`);
    if (reportFile) lines.push(`          ${reportFile}`);
  }
  return lines.join('\n');
}
