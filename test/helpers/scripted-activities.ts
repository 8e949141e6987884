import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import type { CanaryEvidence, LiveComparison, Metrics, Notification, PipelineActivities, PreTrafficRecord, VariantEvidence } from '../../src/activities/contracts.js';
import { parseConfig } from '../../src/config/load.js';
import type { ModelSpec } from '../../src/config/schema.js';

/**
 * Scripted activity implementations for workflow branch tests: they return the numbers a test
 * sets and record every call, so a test can drive a pipeline down any branch on the time-skipping
 * server. The real activities over the real backends are exercised by the integration tests.
 */
export interface Script {
  estimatedCostUsd?: number;
  monthSpendUsd?: number;
  monthlyCapUsd?: number;
  /** Which budget the estimate's cap is (the model's by default). */
  capScope?: 'model' | 'all_models';
  championMetrics?: Metrics;
  challengerMetrics?: Metrics;
  /** The evidence of each analysis, given the challenger's current weight and the step's window (workflow time). */
  evidence?: (weight: number, call: number, window: { stage: 'shadow' | 'canary'; fromMs: number; asOfMs: number }) => CanaryEvidence;
  /** Evaluate as a model's first training: no champion. */
  noChampion?: boolean;
  /** Makes training fail this many times before succeeding. */
  trainingFailures?: number;
  /** What the pre-traffic checks find (default: every synthetic request answered in range, fast). */
  preTraffic?: (input: Parameters<PipelineActivities['preTrafficChecks']>[0]) => PreTrafficRecord;
  /** Notifications of these kinds are recorded, then refused for good, as by a webhook answering 400. */
  failingNotifications?: Notification['kind'][];
}

export interface Recorder {
  calls: Array<{ name: string; input: unknown }>;
  notifications: Notification[];
  weights: number[];
  promoted: number[];
  discarded: number[];
  spend: Map<string, number>;
  currentWeight: number;
}

/** What the gateway's in-memory numbers looked like (runs whose canary began before the `canary-durable-evidence` patch). */
export const healthyLive = (requests = 5_000): LiveComparison => ({
  champion: { requests: requests * 4, errors: 2, p50LatencyMs: 3, p99LatencyMs: 12, labelledSamples: 2_000, accuracy: 0.93 },
  challenger: { requests, errors: 1, p50LatencyMs: 3, p99LatencyMs: 13, labelledSamples: 2_000, accuracy: 0.94 },
});

/** Pre-traffic checks that found nothing wrong; `overrides` make them fail. */
export function passingPreTraffic(version = 2, overrides: Partial<PreTrafficRecord> = {}): PreTrafficRecord {
  return {
    at: '2026-01-01T00:00:00.000Z',
    version,
    profile: 'challenger',
    budgetMs: 250,
    requests: { typical: 10, edge: 8, missing: 5, unseen: 3 },
    leftOut: 0,
    scored: 24,
    refusedAsExpected: 2,
    latencyMs: { p50: 0.4, p99: 1.2, max: 1.2 },
    failures: [],
    failureCount: 0,
    passed: true,
    reason: '26 synthetic requests: 24 scored in range, 2 refused as the schema requires; p99 1.2 ms (budget 250 ms)',
    ...overrides,
  };
}

/** A step's durable evidence where everything is fine: enough traffic, labels matured, close scores. */
export function healthyEvidence(requests = 5_000, overrides: { champion?: Partial<VariantEvidence>; challenger?: Partial<VariantEvidence> } & Partial<Omit<CanaryEvidence, 'champion' | 'challenger'>> = {}): CanaryEvidence {
  const { champion, challenger, ...rest } = overrides;
  return {
    stage: 'canary',
    from: '2026-01-01T00:00:00.000Z',
    asOf: '2026-01-01T01:00:00.000Z',
    champion: { version: '1', requests: requests * 4, errors: 2, p50LatencyMs: 3, p99LatencyMs: 12, labelled: 2_000, accuracy: 0.93, estimatedAccuracy: 0.92, ...champion },
    challenger: { version: '2', requests, errors: 1, p50LatencyMs: 3, p99LatencyMs: 13, labelled: 2_000, accuracy: 0.94, estimatedAccuracy: 0.93, holdoutAccuracy: 0.94, ...challenger },
    scoreDistance: 0.05,
    ...rest,
  };
}

export function scriptedActivities(script: Script = {}): { activities: PipelineActivities; recorder: Recorder } {
  const recorder: Recorder = { calls: [], notifications: [], weights: [], promoted: [], discarded: [], spend: new Map(), currentWeight: 0 };
  let analyses = 0;
  let trainingFailures = script.trainingFailures ?? 0;
  const note = (name: string, input: unknown) => recorder.calls.push({ name, input });
  const activities: PipelineActivities = {
    async resolveSpec(ref) {
      note('resolveSpec', ref);
      return knownTestSpec(ref.model);
    },
    async estimateRunCost(input) {
      note('estimateRunCost', input);
      return { estimatedCostUsd: script.estimatedCostUsd ?? 12, monthSpendUsd: script.monthSpendUsd ?? 100, monthlyCapUsd: script.monthlyCapUsd ?? knownTestSpec(input.ref.model).budget.monthlyCap, capScope: script.capScope ?? 'model' };
    },
    async writeRunReport(input) {
      note('writeRunReport', input);
      return { path: `/nonexistent/reports/${input.model}/runs/${input.runId}.html`, url: `http://localhost:8092/reports/${input.model}/runs/${input.runId}.html` };
    },
    async buildDataset(input) {
      note('buildDataset', input);
      return { datasetId: 'ds-scripted', datasetDir: '/nonexistent/ds-scripted', rowCounts: { train: 8000, validation: 1000, holdout: 1000 } };
    },
    async trainChallenger(input) {
      note('trainChallenger', input);
      if (trainingFailures-- > 0) throw new Error('trainer crashed (scripted)');
      return { version: 2, artifactUri: 'file:///nonexistent/v2/model.json', costUsd: 3.5, trainingMetrics: { accuracy: 0.95 } };
    },
    async evaluateCandidates(input) {
      note('evaluateCandidates', input);
      return {
        champion: script.noChampion ? undefined : { version: 1, metrics: script.championMetrics ?? { accuracy: 0.92, roc_auc: 0.86 } },
        challenger: { version: 2, metrics: script.challengerMetrics ?? { accuracy: 0.94, roc_auc: 0.9 } },
        slices: [],
      };
    },
    async recordSpend(input) {
      note('recordSpend', input);
      recorder.spend.set(input.idempotencyKey, input.costUsd);
    },
    async notify(input) {
      note('notify', input);
      recorder.notifications.push(input);
      if (script.failingNotifications?.includes(input.kind)) throw ApplicationFailure.nonRetryable('webhook refused the notification with 400 (scripted)', 'NotifyRejected');
    },
    async setTraffic(input) {
      note('setTraffic', input);
      recorder.currentWeight = input.weight;
      recorder.weights.push(input.weight);
    },
    async preTrafficChecks(input) {
      note('preTrafficChecks', input);
      return (script.preTraffic ?? (() => passingPreTraffic(input.versions.challenger)))(input);
    },
    async liveMetrics(input) {
      note('liveMetrics', input);
      return healthyLive();
    },
    async canaryEvidence(input) {
      note('canaryEvidence', input);
      const window = { stage: input.stage, fromMs: Date.parse(input.fromIso), asOfMs: Date.parse(input.asOfIso) };
      const evidence = (script.evidence ?? (() => healthyEvidence()))(recorder.currentWeight, analyses++, window);
      return { ...evidence, stage: input.stage, from: input.fromIso, asOf: input.asOfIso };
    },
    async promote(input) {
      note('promote', input);
      recorder.currentWeight = 0;
      recorder.promoted.push(input.version);
    },
    async discardChallenger(input) {
      note('discardChallenger', input);
      recorder.discarded.push(input.version);
    },
    async checkDeployable(input) {
      note('checkDeployable', input);
      return null;
    },
  };
  return { activities, recorder };
}

let modelCounter = 0;
/** The specs testModel made, by name: the scripted resolveSpec plays the worker's own config. */
const testSpecs = new Map<string, ModelSpec>();

export function knownTestSpec(model: string): ModelSpec {
  const spec = testSpecs.get(model);
  if (!spec) throw new Error(`no test model named ${model}`);
  return spec;
}

/** A model spec with every default filled, as the config loader produces it. */
export function testModel(overrides = '', name = `fraud-${Date.now().toString(36)}-${modelCounter++}`): ModelSpec {
  const text = `
models:
  - name: ${name}
    task: binary_classification
    features:
      - { name: transaction_amount, type: numerical }
      - { name: merchant_category, type: categorical }
    label: { name: is_fraud, delay: 1d }
${overrides
  .split('\n')
  .map((l) => (l.trim() ? `    ${l}` : l))
  .join('\n')}
`;
  const spec = parseConfig(text, 'test-model.yaml').models[0];
  testSpecs.set(spec.name, spec);
  testTexts.set(spec.name, text);
  return spec;
}

const testTexts = new Map<string, string>();

/** A config file declaring a test model, for CLI commands (they refuse a model their config does not declare). */
export function testConfigFile(spec: ModelSpec): string {
  const text = testTexts.get(spec.name);
  if (!text) throw new Error(`no test model named ${spec.name}`);
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'retrain-test-config-')), 'retrain.yaml');
  writeFileSync(file, text);
  return file;
}

/** Resolves when the scripted notify activity has sent a notification of this kind. */
export function notified(recorder: Recorder, kind: Notification['kind']): Promise<Notification> {
  const existing = recorder.notifications.find((n) => n.kind === kind);
  if (existing) return Promise.resolve(existing);
  return new Promise((resolve) => {
    const push = recorder.notifications.push.bind(recorder.notifications);
    recorder.notifications.push = (...items: Notification[]) => {
      const length = push(...items);
      const match = items.find((n) => n.kind === kind);
      if (match) resolve(match);
      return length;
    };
  });
}
