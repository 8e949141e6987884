import { deploy } from './deploy.js';
import { learning } from './learning.js';
import { z } from 'zod';
import { duration } from './duration.js';
import { approval, budget, gates, TASK_METRICS, TASKS, taskName, triggers, withTaskDefaults } from './policies.js';
import { normalizeRollout, rollout, type RolloutPlan } from './rollout.js';

/**
 * The model file (retrain.yaml). This schema is the single source of truth: the TypeScript types,
 * the validation and the YAML reference in the docs all come from it.
 */

const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const modelName = z
  .string({ error: 'expected a model name' })
  .regex(NAME_PATTERN, { error: 'expected lowercase letters, digits and dashes (it becomes a workflow id and a folder name)' });

const FEATURE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const columnName = z
  .string({ error: 'expected a column name' })
  .regex(FEATURE_PATTERN, { error: 'expected a column name of letters, digits and underscores, not starting with a digit' });

export const feature = z
  .object({
    name: columnName.describe('Column name in requests and in the lake'),
    type: z.enum(['numerical', 'categorical'], { error: 'expected numerical or categorical' }).describe('numerical: drift by PSI/KS/Wasserstein, standardised; categorical: drift by Jensen–Shannon/chi², one-hot'),
    categories: z.array(z.string()).optional().describe('Categories known up front (optional); unseen ones go to the unknown bucket at scoring time.'),
    key: z.boolean().optional().describe('A feature the business watches closely: the data-quality mean-shift alarm judges it (triggers.dataQuality.meanShift).'),
    description: z.string().optional(),
  })
  .strict();

export const label = z
  .object({
    name: columnName,
    delay: duration().default('1d').describe('How long after a prediction its ground truth typically arrives: a check judges the predictions at least this old, with every label that has arrived by then.'),
    revisions: z
      .enum(['first', 'last'], { error: 'expected first or last' })
      .default('first')
      .describe('When a request gets more than one label: first (the earliest label decides; later ones are kept as history, never silently overwrite it) or last.'),
  })
  .strict();

export const dataSource = z
  .object({
    backend: z.enum(['lake']).default('lake').describe('lake: Parquet files under <data dir>/lake read by DuckDB'),
    lookback: duration().default('90d').describe('Training data older than this is not used.'),
    validationFraction: z.number().gt(0).lt(0.5).default(0.1).describe('Time-based split: the holdout is the most recent slice and is never seen in training.'),
    holdoutFraction: z.number().gt(0).lt(0.5).default(0.1),
    monitorWindow: duration().default('24h').describe('Window of recent predictions the monitor compares with the reference profile.'),
  })
  .strict();

/** How training attempts are watched and retried, for either backend. */
const trainingAttempts = {
  heartbeatTimeout: duration()
    .default('2m')
    .describe('A training attempt silent this long is lost: its worker died, or (command, ray) the trainer printed nothing. Temporal then retries it.'),
  retry: z
    .object({
      maximumAttempts: z.number().int().min(1).default(3).describe('Attempts in all, the first included; a trainer that exits non-zero is not retried'),
      initialInterval: duration().default('10s').describe('Wait before the second attempt; doubles for each further one'),
    })
    .strict()
    .prefault({}),
};

const builtinTrainer = z
  .object({
    backend: z.literal('builtin'),
    algorithm: z
      .enum(['logistic_regression', 'linear_regression'])
      .default('logistic_regression')
      .describe('logistic_regression for classification (multinomial, softmax, for multiclass), linear_regression for regression (the default for a regression model)'),
    params: z
      .object({
        learningRate: z.number().positive().default(0.1),
        epochs: z.number().int().positive().default(20),
        l2: z.number().min(0).default(1e-4),
        classWeight: z.enum(['balanced', 'none']).default('none').describe('balanced weights classes by inverse frequency (rare fraud counts more)'),
        seed: z.number().int().default(42),
      })
      .strict()
      .prefault({}),
    timeout: duration().default('1h').describe('A training run longer than this fails'),
    costPerHour: z.number().min(0).default(1).describe('Dollars per hour of training, for the budget'),
    ...trainingAttempts,
  })
  .strict();

const commandTrainer = z
  .object({
    backend: z.literal('command'),
    command: z.array(z.string().min(1), { error: 'expected the trainer command as a list of arguments, e.g. [python3, train.py] (no shell runs it)' }).min(1, { error: 'expected the trainer command as a list, e.g. [python3, train.py]' }).describe('argv of the trainer; it receives the JSON contract path as its last argument.'),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).default({}),
    params: z.record(z.string(), z.unknown()).default({}),
    timeout: duration().default('2h').describe('A training run longer than this fails'),
    costPerHour: z.number().min(0).default(1).describe('Dollars per hour of training, for the budget'),
    ...trainingAttempts,
  })
  .strict();

const rayTrainer = z
  .object({
    backend: z.literal('ray'),
    address: z
      .string()
      .url({ error: 'expected the Ray dashboard URL, e.g. http://ray-head:8265' })
      .optional()
      .describe("Ray dashboard URL, where the Jobs REST API is (e.g. http://ray-head:8265); default: the worker's RETRAIN_RAY_ADDRESS."),
    command: z
      .array(z.string().min(1), { error: 'expected the trainer command as a list of arguments, e.g. [python3, train.py]' })
      .min(1, { error: 'expected the trainer command as a list, e.g. [python3, train.py]' })
      .describe("argv of the trainer, run by Ray as the job's entrypoint under the same JSON contract as the command backend; it receives the contract path as its last argument."),
    cwd: z.string().min(1).optional().describe('Directory on the Ray node the entrypoint runs in (relative: resolved on the worker, which fits a Ray on the same host or a shared filesystem mounted at the same path).'),
    workingDir: z
      .string()
      .regex(/^[a-z][a-z0-9+.-]*:\/\//, { error: "expected a URI Ray can fetch (s3://, gs://, https://…/trainer.zip): Ray's REST API does not upload a local directory; for a directory on the Ray nodes use cwd" })
      .optional()
      .describe('runtime_env.working_dir: a package Ray fetches onto the node and runs the entrypoint in.'),
    env: z.record(z.string(), z.string()).default({}).describe('runtime_env.env_vars: added to the environment of the Ray node.'),
    numCpus: z.number().min(0).optional().describe('CPUs Ray reserves for the entrypoint (entrypoint_num_cpus); default none, so a job never waits for CPUs its trainer does not ask Ray for.'),
    numGpus: z.number().min(0).optional().describe('GPUs Ray reserves for the entrypoint (entrypoint_num_gpus).'),
    params: z.record(z.string(), z.unknown()).default({}),
    timeout: duration().default('2h').describe('A training run longer than this fails (the Ray job is stopped)'),
    costPerHour: z.number().min(0).default(1).describe('Dollars per hour of training, for the budget'),
    ...trainingAttempts,
  })
  .strict();

export const trainer = z.discriminatedUnion('backend', [builtinTrainer, commandTrainer, rayTrainer], {
  error: 'expected trainer.backend to be builtin, command or ray',
});

export const serving = z
  .object({
    backend: z.enum(['gateway']).default('gateway'),
    url: z.string().url().optional().describe('Base URL of the inference gateway the rollout drives (default: this machine, RETRAIN_GATEWAY_PORT)'),
    entityKey: z.string().min(1).optional().describe('Request field used for sticky routing: one entity always sees one variant.'),
  })
  .strict();

export const monitor = z
  .object({
    every: duration().optional().describe('How often the monitor runs: an interval ("1h") or a cron expression.'),
    cron: z.string().min(1).optional(),
    catchupWindow: duration().default('1h').describe('Runs missed while the server was down are caught up only within this window.'),
    paused: z.boolean().default(false).describe('Create the monitor schedule paused'),
  })
  .strict()
  .refine((m) => !(m.every && m.cron), { error: 'expected either every or cron, not both' })
  .transform((m) => (m.every || m.cron ? m : { ...m, every: '1h' }));

/** Every kind of notification runs and monitors send (NotificationKind in domain/notification.ts). */
export const NOTIFICATION_KINDS = [
  'gates_failed',
  'approval_requested',
  'approval_escalated',
  'approval_timed_out',
  'approved',
  'rejected',
  'rollout_step',
  'rolled_back',
  'promoted',
  'budget_warning',
  'retraining_not_paying',
  'data_quality',
  'online_frozen',
  'failed',
] as const;
export type RunbookKind = (typeof NOTIFICATION_KINDS)[number];

// A record keyed by plain strings, checked here, so a misspelt kind is named with the kinds that exist.
const runbooks = z
  .record(z.string(), z.url({ protocol: /^https?$/, error: 'expected an http(s) URL of the runbook' }))
  .superRefine((map, ctx) => {
    for (const kind of Object.keys(map)) {
      if (!(NOTIFICATION_KINDS as readonly string[]).includes(kind)) {
        ctx.addIssue({ code: 'custom', path: [kind], message: `"${kind}" is not a notification kind; expected one of ${NOTIFICATION_KINDS.join(', ')}` });
      }
    }
  })
  .transform((map) => map as Partial<Record<RunbookKind, string>>);

export const model = z.preprocess(withTaskDefaults, z
  .object({
    name: modelName.describe('Unique name; becomes the workflow id retrain-<name> and the lake folder'),
    description: z.string().optional(),
    task: z.enum(TASKS, { error: 'expected binary_classification, multiclass_classification or regression' }).describe('What the model predicts'),
    classes: z
      .array(z.string({ error: 'expected a class name' }).min(1, { error: 'expected a non-empty class name' }).max(128, { error: 'expected a class name of at most 128 characters' }))
      .optional()
      .describe('multiclass_classification only, and required there: the names of the k ≥ 3 classes in label order. A label is the index of its class (0 .. k-1); feedback may send the name instead. Fixed in the file, not learned from the data: the model\'s output, the gateway\'s answer and macro F1 all depend on k, and a class missing from one training window must not change them.'),
    features: z.array(feature).min(1, { error: 'expected at least one feature' }).describe('Input columns, in the order the model uses them'),
    label,
    data: dataSource.prefault({}),
    trainer: trainer.prefault({ backend: 'builtin' }),
    serving: serving.prefault({}),
    monitor: monitor.prefault({}),
    triggers: triggers.prefault({}),
    gates: gates.prefault({}),
    approval: approval.prefault({}),
    budget: budget.prefault({}),
    rollout: rollout.prefault({}),
    deploy: deploy.prefault({}),
    learning: learning.prefault({}),
    runbooks: runbooks
      .optional()
      .describe(`What to do when a notification arrives: notification kind (${NOTIFICATION_KINDS.join(', ')}) → runbook URL. Sent with each notification of that kind and listed in the run report.`),
  })
  .strict()
  .superRefine((m, ctx) => {
    const seen = new Map<string, number>();
    m.features.forEach((f, index) => {
      if (seen.has(f.name)) {
        ctx.addIssue({ code: 'custom', path: ['features', index, 'name'], message: `duplicate feature "${f.name}" (also features[${seen.get(f.name)}])` });
      }
      seen.set(f.name, index);
      if (f.name === m.label.name) {
        ctx.addIssue({ code: 'custom', path: ['features', index, 'name'], message: `feature "${f.name}" is also the label` });
      }
    });
    m.gates.slices.forEach((slice, index) => {
      if (!seen.has(slice.feature)) {
        ctx.addIssue({ code: 'custom', path: ['gates', 'slices', index, 'feature'], message: `expected one of the model's features, got "${slice.feature}"` });
      }
    });
    if (m.serving.entityKey !== undefined && !seen.has(m.serving.entityKey) && m.serving.entityKey !== 'entity_id') {
      ctx.addIssue({ code: 'custom', path: ['serving', 'entityKey'], message: `expected entity_id or one of the model's features, got "${m.serving.entityKey}"` });
    }
    if (m.task === 'multiclass_classification') {
      if (m.classes === undefined) {
        ctx.addIssue({ code: 'custom', path: ['classes'], message: 'a multiclass_classification model needs its classes: their names in label order, e.g. classes: [setosa, versicolor, virginica] (labels 0, 1, 2)' });
      } else if (m.classes.length < 3) {
        ctx.addIssue({ code: 'custom', path: ['classes'], message: `expected at least 3 classes, got ${m.classes.length}${m.classes.length === 2 ? ' (two classes: use task: binary_classification)' : ''}` });
      }
      const names = new Map<string, number>();
      m.classes?.forEach((name, index) => {
        if (names.has(name)) ctx.addIssue({ code: 'custom', path: ['classes', index], message: `duplicate class "${name}" (also classes[${names.get(name)}])` });
        names.set(name, index);
      });
      if (m.trainer.backend === 'builtin' && m.trainer.algorithm !== 'logistic_regression') {
        ctx.addIssue({ code: 'custom', path: ['trainer', 'algorithm'], message: `${m.trainer.algorithm} does not train a multiclass model; expected logistic_regression (multinomial)` });
      }
    } else if (m.classes !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['classes'], message: `classes applies to multiclass_classification models only; this model is ${m.task}` });
    }
    if (m.learning.mode !== 'batch' && m.trainer.backend !== 'builtin') {
      ctx.addIssue({
        code: 'custom',
        path: ['learning', 'mode'],
        message: `learning.mode ${m.learning.mode} needs trainer.backend builtin: the online learner updates the weights of a retrain-linear/v1 model, and a ${m.trainer.backend} trainer's artifact may hold any model`,
      });
    }
    const judged: Array<[string[], string]> = [[['gates', 'metric'], m.gates.metric], [['triggers', 'performance', 'metric'], m.triggers.performance.metric]];
    for (const [path, metric] of judged) {
      if (!(TASK_METRICS[m.task] as readonly string[]).includes(metric)) {
        ctx.addIssue({ code: 'custom', path, message: `${metric} does not judge a ${taskName(m.task)} model; expected one of ${TASK_METRICS[m.task].join(', ')}` });
      }
    }
    const forTask: Record<string, { tasks: readonly string[]; what: string }> = {
      accuracy_drop: { tasks: ['binary_classification', 'multiclass_classification'], what: 'classification' },
      estimated_accuracy_drop: { tasks: ['binary_classification', 'multiclass_classification'], what: 'classification' },
      error_increase: { tasks: ['regression'], what: 'regression' },
    };
    m.rollout.analysis?.metrics?.forEach((metric, index) => {
      const fits = forTask[metric.kind];
      if (fits && !fits.tasks.includes(m.task)) {
        ctx.addIssue({ code: 'custom', path: ['rollout', 'analysis', 'metrics', index, 'kind'], message: `${metric.kind} judges ${fits.what} models; this model is ${m.task}` });
      }
    });
  })
  // The rollout's plan and judgement in one spelling, whichever the file used.
  .transform((m) => ({ ...m, rollout: normalizeRollout(m.rollout, m.task) as RolloutPlan })));

export const notify = z
  .object({
    webhookUrl: z.string().url().optional().describe('Webhook every notification is POSTed to (with an Idempotency-Key header, the same on retries); notifications are always logged as well.'),
    format: z
      .enum(['slack', 'json'], { error: 'expected slack or json' })
      .default('slack')
      .describe('slack: a Slack-compatible incoming-webhook message ({"text": ..., "blocks": [...]}); json: the whole notification object, for your own receiver.'),
  })
  .strict();

export const retrainConfig = z
  .object({
    version: z.literal(1, { error: 'expected version: 1' }).default(1),
    timeProfile: z.enum(['production', 'demo']).default('production').describe('"demo" compresses every duration (monitor each minute, minute-long canary steps) for the tour.'),
    notify: notify.prefault({}),
    budget: z
      .object({
        monthlyCap: z.number().positive().optional().describe('Dollars per calendar month for the retraining of all models together (none by default); a run is over budget when it would take either this total or its model\'s own cap over.'),
      })
      .strict()
      .prefault({})
      .describe("A retraining budget for the whole component (seed 002), beside each model's own `budget`. Runs over it do what their model's `budget.onExceed` says."),
    models: z.array(model).min(1, { error: 'expected at least one model' }),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.models.forEach((m, index) => {
      if (seen.has(m.name)) {
        ctx.addIssue({ code: 'custom', path: ['models', index, 'name'], message: `duplicate model "${m.name}" (also models[${seen.get(m.name)}])` });
      }
      seen.set(m.name, index);
    });
  });

export type RetrainConfig = z.infer<typeof retrainConfig>;
export type ModelSpec = z.infer<typeof model>;
export type FeatureSpec = z.infer<typeof feature>;
export type TrainerSpec = z.infer<typeof trainer>;
export type RolloutSpec = RolloutPlan;
export type TriggerSpec = z.infer<typeof triggers>;
export type GateSpec = z.infer<typeof gates>;
export type ApprovalSpec = z.infer<typeof approval>;
export type BudgetSpec = z.infer<typeof budget>;
