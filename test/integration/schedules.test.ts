// @server dev
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { runCli } from '../helpers/cli.js';
import { useDevServer } from '../helpers/temporal.js';

const dir = mkdtempSync(path.join(tmpdir(), 'retrain-apply-'));
const model = (name: string, extra = '') => `
  - name: ${name}
    task: binary_classification
    features: [{ name: amount, type: numerical }]
    label: { name: is_fraud }
${extra}`;

function writeConfig(...models: string[]): string {
  const file = path.join(dir, `retrain-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `models:${models.join('')}`);
  return file;
}

describe('retrain apply reconciles Temporal Schedules with the YAML', () => {
  const env = useDevServer();

  it('creates, leaves alone, updates and prunes only its own schedules', async () => {
    const cli = (config: string, ...args: string[]) => runCli(['--config', config, 'apply', ...args], { TEMPORAL_ADDRESS: env().address });
    // Someone else's schedule with a similar name must survive every prune.
    await env().client.schedule.create({ scheduleId: 'retrain-monitor-foreign', spec: { intervals: [{ every: '1h' }] }, action: { type: 'startWorkflow', workflowType: 'monitorModel', taskQueue: 'elsewhere', args: [] }, state: { paused: true } });

    const first = writeConfig(model('apply-a'), model('apply-b', '    monitor: { every: 30m, catchupWindow: 2h }\n    triggers: { schedule: { cron: "0 3 * * 1" } }'));
    const dry = await cli(first, '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /\+ retrain-monitor-apply-a: create/);
    await assert.rejects(env().client.schedule.getHandle('retrain-monitor-apply-a').describe(), /not found/i, 'a dry run changes nothing');

    const created = await cli(first);
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(created.stdout.trim().split('\n').map((l) => l.split(':')[0]).sort(), ['+ retrain-calendar-apply-b', '+ retrain-monitor-apply-a', '+ retrain-monitor-apply-b']);
    const b = await env().client.schedule.getHandle('retrain-monitor-apply-b').describe();
    assert.equal(b.spec.intervals?.[0].every, 30 * 60_000);
    assert.equal(b.policies.overlap, ScheduleOverlapPolicy.SKIP);
    assert.equal(b.policies.catchupWindow, 2 * 3_600_000);
    assert.equal(b.action.type === 'startWorkflow' && b.action.workflowType, 'monitorModel');

    const again = await cli(first);
    assert.match(again.stdout, /= retrain-monitor-apply-a: unchanged/);
    assert.doesNotMatch(again.stdout, /^[+~-]/m, 'applying the same file twice changes nothing');

    const second = writeConfig(model('apply-a', '    monitor: { every: 15m }'));
    const updated = await cli(second);
    assert.match(updated.stdout, /~ retrain-monitor-apply-a: update \(monitor apply-a every 15m\)/);
    assert.match(updated.stdout, /- retrain-monitor-apply-b: delete/);
    assert.match(updated.stdout, /- retrain-calendar-apply-b: delete/);
    assert.equal((await env().client.schedule.getHandle('retrain-monitor-apply-a').describe()).spec.intervals?.[0].every, 15 * 60_000);
    assert.ok(await env().client.schedule.getHandle('retrain-monitor-foreign').describe(), 'a schedule we did not create is never touched');
  });
});
