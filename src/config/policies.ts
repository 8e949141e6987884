import { z } from 'zod';
import { duration } from './duration.js';
import { positiveInt, probability } from './fields.js';
import { normalizePerson, personNameProblem } from './people.js';

/**
 * The decision policies of a model: when to retrain, what a challenger must prove, who approves,
 * what it may cost and how it reaches traffic. Each default, and why where it departs from the
 * product's seed numbers: the README ("Models: retrain.yaml") and docs/config-reference.md (generated from here).
 */

export const metricName = z.enum(['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss', 'macro_f1', 'mae', 'rmse'], {
  error: 'expected one of accuracy, precision, recall, f1, roc_auc, log_loss, macro_f1, mae, rmse',
});
export type MetricName = z.infer<typeof metricName>;

/** Metrics where a smaller value is better; gates and triggers flip their comparisons for these. */
export const LOWER_IS_BETTER: ReadonlySet<MetricName> = new Set(['log_loss', 'mae', 'rmse']);

/** What a model predicts: one of two classes, one of k ≥ 3 named classes, or a number. */
export const TASKS = ['binary_classification', 'multiclass_classification', 'regression'] as const;
export type Task = (typeof TASKS)[number];

/** Binary and multiclass models: a prediction is a class, right or wrong (accuracy = prediction === label). */
export function isClassification(task: Task): task is 'binary_classification' | 'multiclass_classification' {
  return task !== 'regression';
}

/** The task as a sentence names it ("binary classification"). */
export function taskName(task: Task): string {
  return task.replace('_', ' ');
}

/**
 * The metrics each task can be judged on. Multiclass: accuracy, macro F1 (the unweighted mean of
 * the per-class F1, so a minority class that collapses shows) and log loss (on the full class
 * probabilities); precision, recall, f1 and roc_auc are defined for one positive class only.
 */
export const TASK_METRICS: Readonly<Record<Task, readonly MetricName[]>> = {
  binary_classification: ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss'],
  multiclass_classification: ['accuracy', 'macro_f1', 'log_loss'],
  regression: ['mae', 'rmse'],
};

/**
 * Defaults that depend on the task, filled in before the schema's own: a regression model is
 * judged by rmse, with no absolute floor (the scale is its label's) and "at least as good" as the
 * improvement it needs, and its built-in trainer is linear_regression. A multiclass model's gate
 * is macro F1 (accuracy hides a minority class the challenger stopped predicting) with no absolute
 * floor (chance is 1/k, so what is good depends on k); its performance trigger stays accuracy, the
 * error rate the sequential test and the canary measure on matured labels. A value the file sets
 * is kept, and checked against the task afterwards.
 */
export function withTaskDefaults(input: unknown): unknown {
  if (input == null || typeof input !== 'object' || Array.isArray(input)) return input;
  const model = input as Record<string, unknown>;
  const task = model.task;
  const section = (value: unknown): Record<string, unknown> | undefined =>
    value === undefined ? {} : value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  const gates = section(model.gates);
  const triggers = section(model.triggers);
  const performance = section(triggers?.performance);
  // Leave malformed sections as they are: the schema names what is wrong with them.
  if (!gates || !triggers || !performance) return input;
  const regression = task === 'regression';
  const multiclass = task === 'multiclass_classification';
  const trainer = model.trainer;
  const builtin = trainer === undefined || (trainer !== null && typeof trainer === 'object' && !Array.isArray(trainer) && (trainer as Record<string, unknown>).backend === 'builtin');
  const withAlgorithm = regression && builtin && (trainer as Record<string, unknown> | undefined)?.algorithm === undefined ? { trainer: { backend: 'builtin', ...(trainer as object | undefined), algorithm: 'linear_regression' } } : {};
  return {
    ...model,
    ...withAlgorithm,
    gates: {
      ...gates,
      metric: gates.metric ?? (regression ? 'rmse' : multiclass ? 'macro_f1' : undefined),
      floor: gates.floor ?? (regression || multiclass ? undefined : 0.9),
      minImprovement: gates.minImprovement ?? (regression ? 0 : undefined),
    },
    triggers: { ...triggers, performance: { ...performance, metric: performance.metric ?? (regression ? 'rmse' : undefined) } },
  };
}

const driftStatisticThresholds = z
  .object({
    psi: z.number().positive().optional(),
    jensenShannon: probability('a Jensen–Shannon distance').optional(),
    ksPValue: probability('a p-value').optional(),
    chiSquarePValue: probability('a p-value').optional(),
    wasserstein: z.number().positive().optional(),
  })
  .strict();

export const driftTrigger = z
  .object({
    enabled: z.boolean().default(true),
    action: z
      .enum(['impact', 'retrain', 'alert'], { error: 'expected impact, retrain or alert' })
      .default('impact')
      .describe('impact: drift starts a retrain only when the label-free performance estimate says it costs more than the tolerance; retrain: any drift of an important feature does; alert: drift is reported, never a retrain.'),
    numericalMethod: z.enum(['psi', 'ks', 'wasserstein']).default('psi').describe('Statistic for numerical features'),
    categoricalMethod: z.enum(['jensen_shannon', 'chi_square']).default('jensen_shannon').describe('Statistic for categorical features'),
    thresholds: z
      .enum(['calibrated', 'fixed'], { error: 'expected calibrated or fixed' })
      .default('calibrated')
      .describe('calibrated: each feature\'s threshold is the larger of the fixed one and what windows of this size drawn from the reference itself reach (99th percentile), so it follows sample size; fixed: the numbers below as they are.'),
    psi: z.number().positive().default(0.15).describe('PSI above this is drift (bins from reference quantiles)'),
    jensenShannon: probability('a Jensen–Shannon distance').default(0.15).describe('Jensen–Shannon distance (base 2) above this is drift'),
    ksPValue: probability('a p-value').default(0.01).describe('KS two-sample p-value below this is drift (after the multiple-testing adjustment)'),
    chiSquarePValue: probability('a p-value').default(0.01).describe('chi² p-value below this is drift (after the multiple-testing adjustment)'),
    pValueAdjustment: z.enum(['bh', 'holm', 'none']).default('bh').describe('How p-values are adjusted across features before they are compared (Benjamini–Hochberg, Holm, or none).'),
    perFeature: z.record(z.string(), driftStatisticThresholds).default({}).describe('Thresholds for single features, e.g. { amount: { psi: 0.3 } }; they replace the defaults above for that feature.'),
    minImportance: probability('an importance share').default(0.05).describe('Drift of a feature with less than this share of the model\'s permutation importance is reported, not a reason to retrain.'),
    minSamples: positiveInt('a sample count').default(1000).describe('Fewer rows than this in the window is insufficient data, never drift'),
    minDriftedFeatures: positiveInt('a feature count').default(1).describe('How many important features must drift to trigger a retrain'),
  })
  .strict();

export const triggers = z
  .object({
    schedule: z.object({ enabled: z.boolean().default(true), cron: z.string().min(1) }).strict().optional().describe('Retrain on a calendar regardless of the data ("0 3 * * 1").'),
    performance: z
      .object({
        enabled: z.boolean().default(true),
        metric: metricName.default('accuracy').describe('Metric on matured labels, reported every check (default: accuracy; rmse for regression)'),
        baseline: z
          .enum(['champion', 'sla'], { error: 'expected champion or sla' })
          .default('champion')
          .describe("champion: retrain when the matured error rate is worse than the champion's own validated error by more than the tolerance, by a sequential test across checks; sla: when the windowed metric is past `threshold`."),
        tolerance: z.number().min(0).max(0.5).default(0.02).describe('How much worse than its validated baseline a champion may get before a retrain pays (error-rate points).'),
        falseAlarmRate: probability('a probability').default(0.01).describe('Bound on the chance of a false alarm per 100,000 matured predictions while the model is worse than its baseline by at most half the tolerance.'),
        threshold: z.number().optional().describe('The contractual SLA (baseline: sla): retrain when the metric falls below this (above, for losses).'),
        minLabels: positiveInt('a label count').default(200).describe('Report (and, with baseline: sla, judge) the windowed metric only with at least this many matured labels'),
      })
      .strict()
      .superRefine((p, ctx) => {
        if (p.baseline === 'sla' && p.threshold === undefined) ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'baseline: sla needs a threshold' });
      })
      .prefault({}),
    drift: driftTrigger.prefault({}),
    dataQuality: z
      .object({
        enabled: z.boolean().default(true),
        action: z
          .enum(['alert', 'retrain'], { error: 'expected alert or retrain' })
          .default('alert')
          .describe('alert: violations are reported, notified and kept in the violations store; retrain: they also start a retrain (a retrain on broken inputs rarely helps: fix the data first).'),
        missingRate: probability('a share').default(0.05).describe("A feature's missing share above the reference's own by more than this is a violation."),
        outOfRange: probability('a share').default(0.02).describe("A share of numerical values outside the reference's [min, max] above this is a violation."),
        unseenCategories: probability('a share').default(0.05).describe('A share of categorical values the reference never saw above this is a violation.'),
        meanShift: z.number().positive().default(3).describe('On features marked `key`: the window mean this many standard errors from the reference mean is a violation (seed 001).'),
        minSamples: positiveInt('a sample count').default(200).describe('Fewer rows (present values) than this and a feature is not judged.'),
      })
      .strict()
      .prefault({})
      .describe('Data-quality checks of each window against the reference profile: missing values, values out of range, unseen categories, mean shift of key features.'),
    labelShift: z
      .object({ enabled: z.boolean().default(false).describe('A shift of the label distribution starts a retrain (off: reported only; its cost shows in performance).'), jensenShannon: probability('a Jensen–Shannon distance').default(0.15) })
      .strict()
      .prefault({}),
    volume: z
      .object({ enabled: z.boolean().default(false).describe('Opt-in: retrain after this many new labels since the last pipeline ended (whatever its outcome).'), newLabels: positiveInt('a label count').default(5000) })
      .strict()
      .prefault({}),
    maxAge: z.object({ enabled: z.boolean().default(false).describe('Opt-in: retrain when the last pipeline ended this long ago (a calendar, not evidence).'), age: duration().default('30d') }).strict().prefault({}),
    cooldown: duration().default('24h').describe('No new pipeline within this time after the last one finished, whatever fires.'),
    backoff: z
      .object({
        enabled: z.boolean().default(true),
        initial: duration().default('1d').describe('After a run that was rejected or rolled back, its triggers wait this long, doubling with each further such run.'),
        max: duration().default('16d').describe('The longest wait.'),
      })
      .strict()
      .prefault({})
      .describe('Retraining that keeps not paying backs off, and a person is told to look.'),
  })
  .strict();

export const gates = z
  .object({
    metric: metricName.default('accuracy').describe('Metric both models are scored on, on the same holdout (default: accuracy; macro_f1 for multiclass; rmse for regression)'),
    floor: z.number().optional().describe("The challenger's metric must reach this absolute value (at most this, for losses). Default 0.9 for binary classification; none for multiclass (chance is 1/k) and regression (the scale is the label's)."),
    minImprovement: z
      .number()
      .min(-1)
      .default(0.01)
      .describe("...and beat the champion's by at least this much on the same holdout (default 0.01; 0 for regression, whose scale is the label's: at least as good). A negative value is a non-inferiority margin: the challenger may be this much worse (to refresh a model whose holdout cannot show a gain)."),
    leakageCeiling: z.number().default(0.99).describe('A metric this good is more likely a leak than a breakthrough.'),
    onLeakage: z.enum(['warn', 'reject', 'require_approval']).default('warn').describe('What a metric at or above the leakage ceiling does'),
    slices: z
      .array(
        z
          .object({
            feature: z.string().min(1),
            tolerance: z.number().min(0).default(0.02).describe('Largest allowed regression of the gate metric in any value of this feature.'),
            minSamples: positiveInt('a sample count').default(100),
          })
          .strict(),
      )
      .default([]),
    maxLatencyMs: z.number().positive().optional().describe('Optional: reject a challenger slower than this per prediction'),
  })
  .strict();

/** A person's name as decisions are compared: see normalizePerson. */
const person = z
  .string({ error: 'expected a name' })
  .superRefine((name, ctx) => {
    const problem = personNameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform(normalizePerson);

export const approval = z
  .object({
    when: z
      .enum(['always', 'never', 'cost_above', 'on_flag'])
      .default('cost_above')
      .describe(
        'When a human must approve: always, never, cost_above (costAbove) or on_flag (a gate warned, e.g. a metric at the leakage ceiling with onLeakage: warn). In every mode a gate set to require_approval asks, and so does a run over its budget (budget.onExceed: require_approval).',
      ),
    costAbove: z.number().min(0).default(500).describe('Runs estimated above this many dollars need a human (when: cost_above).'),
    approvers: z.array(person).default([]).describe('Who may approve, reject, pause, resume, abort or promote a run (empty: anyone). Names are compared trimmed and case-insensitively. A list of names is a policy, not authentication: see the README\'s security section.'),
    sla: duration().default('4h').describe('How long to wait for a decision before escalating'),
    escalateTo: z.array(person).default([]).describe('Who is notified at the SLA (and may also decide)'),
    escalationGrace: duration().default('4h').describe('After the SLA passes: escalate, then wait this long again before the timeout action.'),
    onTimeout: z.enum(['reject', 'approve']).default('reject').describe('Decision when nobody decides within SLA + grace'),
    allowSelfApproval: z.boolean().default(false).describe('Whether the requester of a run may approve it'),
  })
  .strict();

export const budget = z
  .object({
    monthlyCap: z.number().positive().default(10_000).describe('Dollars per model per calendar month'),
    warnRatio: probability('a ratio').default(0.8).describe('Notify when a run takes monthly spend above this share of the cap'),
    estimatedCostPerRun: z.number().min(0).default(5).describe('Estimate of one run when the trainer has no history yet.'),
    onExceed: z.enum(['require_approval', 'refuse']).default('require_approval').describe('What a run over the cap does'),
  })
  .strict();
