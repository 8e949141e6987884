import { z } from 'zod';
import { duration } from './duration.js';

/**
 * The decision policies of a model: when to retrain, what a challenger must prove, who approves,
 * what it may cost and how it reaches traffic. Defaults follow the numbers in DESIGN.md.
 */

const probability = (what: string) =>
  z.number({ error: `expected ${what} as a number from 0 to 1` }).min(0, { error: `expected ${what} from 0 to 1` }).max(1, {
    error: `expected ${what} from 0 to 1`,
  });

const positiveInt = (what: string) =>
  z.number({ error: `expected ${what} as a whole number` }).int({ error: `expected ${what} as a whole number` }).min(1, {
    error: `expected ${what} of at least 1`,
  });

export const metricName = z.enum(['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss', 'mae', 'rmse'], {
  error: 'expected one of accuracy, precision, recall, f1, roc_auc, log_loss, mae, rmse',
});
export type MetricName = z.infer<typeof metricName>;

/** Metrics where a smaller value is better; gates and triggers flip their comparisons for these. */
export const LOWER_IS_BETTER: ReadonlySet<MetricName> = new Set(['log_loss', 'mae', 'rmse']);

export const driftTrigger = z
  .object({
    enabled: z.boolean().default(true),
    numericalMethod: z.enum(['psi', 'ks', 'wasserstein']).default('psi'),
    categoricalMethod: z.enum(['jensen_shannon', 'chi_square']).default('jensen_shannon'),
    psi: z.number().positive().default(0.15),
    jensenShannon: probability('a Jensen–Shannon distance').default(0.15),
    ksPValue: probability('a p-value').default(0.01),
    chiSquarePValue: probability('a p-value').default(0.01),
    minSamples: positiveInt('a sample count').default(1000),
    minDriftedFeatures: positiveInt('a feature count').default(1),
  })
  .strict();

export const triggers = z
  .object({
    /** Retrain on a calendar regardless of the data ("0 3 * * 1"). */
    schedule: z.object({ enabled: z.boolean().default(true), cron: z.string().min(1) }).strict().optional(),
    performance: z
      .object({
        enabled: z.boolean().default(true),
        metric: metricName.default('accuracy'),
        threshold: z.number().default(0.9),
        minLabels: positiveInt('a label count').default(1000),
      })
      .strict()
      .prefault({}),
    drift: driftTrigger.prefault({}),
    labelShift: z
      .object({ enabled: z.boolean().default(true), jensenShannon: probability('a Jensen–Shannon distance').default(0.15) })
      .strict()
      .prefault({}),
    volume: z
      .object({ enabled: z.boolean().default(true), newLabels: positiveInt('a label count').default(5000) })
      .strict()
      .prefault({}),
    maxAge: z.object({ enabled: z.boolean().default(true), age: duration().default('30d') }).strict().prefault({}),
    /** No new pipeline within this time after the last one finished, whatever fires. */
    cooldown: duration().default('24h'),
  })
  .strict();

export const gates = z
  .object({
    metric: metricName.default('accuracy'),
    /** The challenger's metric must reach this absolute value. */
    floor: z.number().default(0.9),
    /** ...and beat the champion's by at least this much on the same holdout. */
    minImprovement: z.number().min(0).default(0.01),
    /** A metric this good is more likely a leak than a breakthrough. */
    leakageCeiling: z.number().default(0.99),
    onLeakage: z.enum(['warn', 'reject', 'require_approval']).default('warn'),
    slices: z
      .array(
        z
          .object({
            feature: z.string().min(1),
            /** Largest allowed regression of the gate metric in any value of this feature. */
            tolerance: z.number().min(0).default(0.02),
            minSamples: positiveInt('a sample count').default(100),
          })
          .strict(),
      )
      .default([]),
    maxLatencyMs: z.number().positive().optional(),
  })
  .strict();

export const approval = z
  .object({
    when: z.enum(['always', 'never', 'cost_above', 'on_flag']).default('cost_above'),
    /** Runs estimated above this many dollars need a human (when: cost_above). */
    costAbove: z.number().min(0).default(500),
    approvers: z.array(z.string().min(1)).default([]),
    sla: duration().default('4h'),
    escalateTo: z.array(z.string().min(1)).default([]),
    /** After the SLA passes: escalate, then wait this long again before the timeout action. */
    escalationGrace: duration().default('4h'),
    onTimeout: z.enum(['reject', 'approve']).default('reject'),
    allowSelfApproval: z.boolean().default(false),
  })
  .strict();

export const budget = z
  .object({
    monthlyCap: z.number().positive().default(10_000),
    warnRatio: probability('a ratio').default(0.8),
    /** Estimate of one run when the trainer has no history yet. */
    estimatedCostPerRun: z.number().min(0).default(5),
    onExceed: z.enum(['require_approval', 'refuse']).default('require_approval'),
  })
  .strict();

export const rolloutStep = z
  .object({
    weight: z
      .number({ error: 'expected a number from 1 to 100' })
      .min(1, { error: 'expected a number from 1 to 100' })
      .max(100, { error: 'expected a number from 1 to 100' }),
    /** Bake time at this weight; the last step (100%) needs none. */
    duration: duration().optional(),
  })
  .strict();

export const DEFAULT_ROLLOUT_STEPS = [
  { weight: 5, duration: '24h' },
  { weight: 25, duration: '48h' },
  { weight: 100 },
];

export const rollout = z
  .object({
    shadow: z.object({ duration: duration() }).strict().optional(),
    steps: z.array(rolloutStep).min(1, { error: 'expected at least one rollout step' }).default(DEFAULT_ROLLOUT_STEPS),
    analysisInterval: duration().default('15m'),
    /** Fewer live samples than this per variant is "inconclusive", never a pass. */
    minSamples: positiveInt('a sample count').default(200),
    /** Consecutive failing analyses before an automatic rollback. */
    failureLimit: positiveInt('a failure count').default(2),
    rollbackOn: z
      .object({
        maxAccuracyDrop: probability('an accuracy drop').default(0.05),
        maxErrorRate: probability('an error rate').default(0.02),
        maxP99LatencyMs: z.number().positive().optional(),
      })
      .strict()
      .prefault({}),
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
  });
