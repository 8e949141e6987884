import { z } from 'zod';
import { duration } from './duration.js';
import { positiveInt, probability } from './fields.js';
import { isClassification, type Task } from './policies.js';

/**
 * How a challenger reaches traffic, in two declarations as Argo Rollouts has them: the plan
 * (`steps`: weights and bake times, an optional shadow stage) and the judgement (`analysis`: how
 * often, on how many samples, and a list of metrics each with its own condition). Model files
 * written before `analysis` existed keep working: their `analysisInterval`, `minSamples`,
 * `failureLimit` and `rollbackOn` are mapped onto it by `normalizeRollout`, which the running
 * workflow also uses for specs recorded in older histories.
 */

export const rolloutStep = z
  .object({
    weight: z
      .number({ error: 'expected a number from 1 to 100' })
      .min(1, { error: 'expected a number from 1 to 100' })
      .max(100, { error: 'expected a number from 1 to 100' }),
    duration: duration().optional().describe('Bake time at this weight; the last step (100%) needs none.'),
  })
  .strict();

export const DEFAULT_ROLLOUT_STEPS = [
  { weight: 5, duration: '24h' },
  { weight: 25, duration: '48h' },
  { weight: 100 },
];

const metricName = z.string().min(1).max(60).optional().describe('Shown in verdicts and reports; defaults to the kind.');
/** As Argo Rollouts' dryRun: judged and shown with every analysis, never deciding a step. */
const dryRun = z.boolean().optional().describe('Judged and shown with every analysis, never deciding a step (Argo Rollouts\' dryRun).');

/**
 * One analysis metric: what it measures, on which evidence, and its condition. `traffic` metrics
 * (errors, latency) and `labels` metrics judge every step; `label-free` ones can fail a step
 * while its labels mature but never pass it on their own.
 */
export const analysisMetric = z.discriminatedUnion(
  'kind',
  [
    z
      .object({
        kind: z.literal('error_rate'),
        name: metricName,
        dryRun,
        max: probability('an error rate').default(0.02).describe('Fail above this challenger error rate (scoring failures / requests).'),
      })
      .strict(),
    z
      .object({
        kind: z.literal('latency'),
        name: metricName,
        dryRun,
        quantile: z.enum(['p50', 'p99']).default('p99'),
        maxRatio: z.number().positive().default(1.2).describe("Fail when the challenger's latency quantile is above this multiple of the champion's on the same traffic."),
        minMarginMs: z.number().min(0).default(5).describe('...and above it by more than this many ms (1.0 vs 1.3 ms is noise, not a regression).'),
        maxMs: z.number().positive().optional().describe('Optional absolute limit for the challenger, whatever the champion does.'),
      })
      .strict(),
    z
      .object({
        kind: z.literal('accuracy_drop'),
        name: metricName,
        dryRun,
        maxDrop: probability('an accuracy drop')
          .default(0.05)
          .describe("Binary classification: fail when the challenger's accuracy on labelled live predictions is below the champion's by more than this, at the analysis confidence."),
      })
      .strict(),
    z
      .object({
        kind: z.literal('error_increase'),
        name: metricName,
        dryRun,
        maxIncrease: z.number().min(0).default(0.1).describe("Regression: fail when the challenger's mean absolute error on labelled live predictions is above the champion's by more than this fraction, at the analysis confidence."),
      })
      .strict(),
    z
      .object({
        kind: z.literal('estimated_accuracy_drop'),
        name: metricName,
        dryRun,
        maxDrop: probability('an accuracy drop')
          .default(0.05)
          .describe("Label-free (binary): the challenger's accuracy on live traffic estimated from its calibrated scores (CBPE); fail when it is below its own holdout accuracy by more than this (the champion's stale calibration is no yardstick after a concept change)."),
      })
      .strict(),
    z
      .object({
        kind: z.literal('score_distance'),
        name: metricName,
        dryRun,
        max: probability('a Jensen–Shannon distance')
          .default(0.3)
          .describe('Label-free: Jensen–Shannon distance (base 2, 10 bins) between the two versions\' score distributions on the same traffic, and above what samples of these sizes reach by chance; beyond it they disagree about most of the population (a broken challenger: wrong feature order, unscaled inputs).'),
      })
      .strict(),
    z
      .object({
        kind: z.literal('shadow_agreement'),
        name: metricName,
        dryRun,
        min: probability('an agreement rate').default(0.8).describe('Shadow stage: fail when fewer of the mirrored requests get the same prediction (regression: within 10% of the champion\'s).'),
      })
      .strict(),
  ],
  { error: 'expected a metric kind: error_rate, latency, accuracy_drop, error_increase, estimated_accuracy_drop, score_distance or shadow_agreement' },
);
export type AnalysisMetric = z.infer<typeof analysisMetric>;
export type AnalysisMetricKind = AnalysisMetric['kind'];

/**
 * The metrics a model gets when it declares none. The label-free ones come as dry runs: judged
 * and shown with every analysis, deciding nothing. Measured on the demo story, each rolled back a
 * good challenger when it decided: a challenger retrained after a concept change scores the same
 * traffic differently by design (score distance 0.46), and an isotonic calibration fitted on a few
 * hundred validation rows put a challenger's estimate 10 points under its holdout accuracy.
 */
export function defaultAnalysisMetrics(task: Task): AnalysisMetric[] {
  const deciding: AnalysisMetricKind[] = isClassification(task) ? ['error_rate', 'latency', 'accuracy_drop', 'shadow_agreement'] : ['error_rate', 'latency', 'error_increase', 'shadow_agreement'];
  const dryRuns: AnalysisMetricKind[] = isClassification(task) ? ['estimated_accuracy_drop', 'score_distance'] : ['score_distance'];
  return [...deciding.map((kind) => analysisMetric.parse({ kind })), ...dryRuns.map((kind) => analysisMetric.parse({ kind, dryRun: true }))];
}

export const analysis = z
  .object({
    interval: duration().default('15m').describe('How often the live evidence is read and judged during a step.'),
    minSamples: positiveInt('a sample count')
      .default(200)
      .describe('Requests per variant before traffic metrics are judged, and labelled predictions per variant before labelled metrics are: fewer is "inconclusive", never a pass.'),
    failureLimit: positiveInt('a failure count').default(2).describe('Consecutive failing analyses before an automatic rollback.'),
    confidence: z
      .number()
      .min(0.5)
      .max(0.999)
      .default(0.95)
      .describe('One-sided confidence a labelled drop must reach before it fails a step: a drop past its limit that the samples cannot yet confirm is inconclusive.'),
    extendInconclusive: z
      .number()
      .min(0)
      .default(1)
      .describe('An inconclusive step keeps analysing past its bake for up to this multiple of the bake (1: twice the bake in all).'),
    labelWait: duration()
      .optional()
      .describe("How long past its bake a step may wait for its predictions' labels to arrive (default: the model's label.delay). Label-free metrics keep judging meanwhile."),
    onInconclusive: z
      .enum(['rollback', 'ask'])
      .default('rollback')
      .describe('When a step is still inconclusive after its waits: roll back, or ask an approver (approve continues, reject or the approval timeout rolls back).'),
    metrics: z.array(analysisMetric).min(1, { error: 'expected at least one metric' }).optional().describe('Default: error_rate, latency, the labelled metric of the task and shadow_agreement, deciding; estimated_accuracy_drop (binary) and score_distance as dry runs (shown, not deciding). A list given here replaces the defaults.'),
  })
  .strict();

/**
 * Pre-traffic checks (seed 001's CodeDeploy hooks): before the challenger gets any live traffic,
 * synthetic requests built from the reference profile (typical rows, edge values, missing values,
 * unseen categories) go through the gateway to the challenger alone; a scoring error, a refusal of
 * a row the model's schema accepts, an output out of range or a p99 over the budget stops the
 * deployment with no traffic moved.
 */
export const preTraffic = z
  .object({
    enabled: z
      .boolean({ error: 'expected true or false' })
      .optional()
      .describe('Default: true when the model is served through the gateway (serving.backend: gateway), which can score a named variant.'),
    latencyBudgetMs: z
      .number({ error: 'expected a latency budget in milliseconds, a number from 1 to 60000' })
      .min(1, { error: 'expected a latency budget in milliseconds, a number from 1 to 60000' })
      .max(60_000, { error: 'expected a latency budget in milliseconds, a number from 1 to 60000' })
      .default(250)
      .describe("Fail when the p99 of the synthetic requests' latency in the gateway (validation and the challenger's scoring of one row) is above this."),
    maxRequests: positiveInt('a number of synthetic requests per category')
      .max(1_000, { error: 'expected a number of synthetic requests per category of at most 1000' })
      .default(50)
      .describe('At most this many synthetic requests per category (typical, edge, missing, unseen); the rest are left out and counted.'),
  })
  .strict();
export type PreTrafficSpec = z.infer<typeof preTraffic>;
export type PreTrafficSettings = Required<PreTrafficSpec>;

/** The checks a run applies: the rollout's settings with their defaults (specs recorded before they existed have none). */
export function preTrafficSettings(plan: { preTraffic?: Partial<PreTrafficSpec> }, servingBackend: string | undefined): PreTrafficSettings {
  const defaults = preTraffic.parse({});
  const given = plan.preTraffic ?? {};
  return {
    enabled: given.enabled ?? (servingBackend ?? 'gateway') === 'gateway',
    latencyBudgetMs: given.latencyBudgetMs ?? defaults.latencyBudgetMs,
    maxRequests: given.maxRequests ?? defaults.maxRequests,
  };
}

/** The rollout fields of model files written before `analysis`, still accepted (see normalizeRollout). */
const legacyRollbackOn = z
  .object({
    maxAccuracyDrop: probability('an accuracy drop').optional().describe('Old spelling of an accuracy_drop metric’s maxDrop.'),
    maxErrorRate: probability('an error rate').optional().describe('Old spelling of an error_rate metric’s max.'),
    maxP99LatencyMs: z.number().positive().optional().describe('Old spelling of a latency metric’s maxMs.'),
  })
  .strict();

export const rollout = z
  .object({
    shadow: z.object({ duration: duration() }).strict().optional().describe('Mirror the traffic to the challenger (answers still from the champion) for this long before the first step, judged by the analysis.'),
    steps: z.array(rolloutStep).min(1, { error: 'expected at least one rollout step' }).default(DEFAULT_ROLLOUT_STEPS),
    analysis: analysis.optional(),
    preTraffic: preTraffic.prefault({}).describe('Synthetic requests to the challenger alone before it gets any traffic.'),
    analysisInterval: duration().optional().describe('Old spelling of analysis.interval.'),
    minSamples: positiveInt('a sample count').optional().describe('Old spelling of analysis.minSamples.'),
    failureLimit: positiveInt('a failure count').optional().describe('Old spelling of analysis.failureLimit.'),
    rollbackOn: legacyRollbackOn.optional().describe('Old spelling of the analysis metrics.'),
  })
  .strict()
  .superRefine((value, ctx) => {
    value.steps.forEach((step, index) => {
      const previous = value.steps[index - 1];
      if (previous && step.weight <= previous.weight) {
        ctx.addIssue({ code: 'custom', path: ['steps', index, 'weight'], message: 'expected a weight above the previous step' });
      }
      const last = index === value.steps.length - 1;
      if (!last && step.duration === undefined) {
        ctx.addIssue({ code: 'custom', path: ['steps', index, 'duration'], message: 'expected a duration (only the last step may omit it)' });
      }
      if (last && step.weight < 100) {
        ctx.addIssue({ code: 'custom', path: ['steps', index, 'weight'], message: 'expected the last step to send 100% of traffic' });
      }
    });
    if (value.analysis) {
      for (const old of ['analysisInterval', 'minSamples', 'failureLimit', 'rollbackOn'] as const) {
        if (value[old] !== undefined) ctx.addIssue({ code: 'custom', path: [old], message: `expected ${old} inside rollout.analysis (the old spelling cannot be mixed with rollout.analysis)` });
      }
    }
  });

export type AnalysisSpec = Required<Omit<z.infer<typeof analysis>, 'labelWait'>> & { labelWait?: string };
export type RolloutPlan = { shadow?: { duration: string }; steps: Array<{ weight: number; duration?: string }>; analysis: AnalysisSpec; preTraffic?: PreTrafficSpec };

/** The fields a rollout may hold, new or old: what parsed config and specs recorded in older histories carry. */
export type RolloutInput = Partial<z.infer<typeof rollout>> & { steps: Array<{ weight: number; duration?: string }> };

/**
 * The plan and the judgement of a rollout, whichever spelling it was written in: the old fields
 * become the analysis (rollbackOn's limits become error_rate, accuracy_drop and an absolute
 * latency metric; the metrics it never had keep their defaults), and a missing metric list gets
 * the task's defaults.
 */
export function normalizeRollout(input: RolloutInput, task: Task): RolloutPlan {
  const defaults = analysis.parse({});
  const given: Partial<z.infer<typeof analysis>> = input.analysis ?? {};
  const legacy = input.rollbackOn;
  let metrics = given.metrics ?? defaultAnalysisMetrics(task);
  if (!input.analysis && legacy) {
    metrics = metrics.map((m) => {
      if (m.kind === 'error_rate' && legacy.maxErrorRate !== undefined) return { ...m, max: legacy.maxErrorRate };
      if (m.kind === 'accuracy_drop' && legacy.maxAccuracyDrop !== undefined) return { ...m, maxDrop: legacy.maxAccuracyDrop };
      if (m.kind === 'latency' && legacy.maxP99LatencyMs !== undefined) return { ...m, maxMs: legacy.maxP99LatencyMs };
      return m;
    });
  }
  const plan: RolloutPlan = {
    steps: input.steps,
    analysis: {
      ...defaults,
      ...given,
      interval: given.interval ?? input.analysisInterval ?? defaults.interval,
      minSamples: given.minSamples ?? input.minSamples ?? defaults.minSamples,
      failureLimit: given.failureLimit ?? input.failureLimit ?? defaults.failureLimit,
      metrics,
    } as AnalysisSpec,
  };
  if (input.shadow) plan.shadow = input.shadow;
  if (input.preTraffic) plan.preTraffic = input.preTraffic;
  return plan;
}
