import { z } from 'zod';
import { duration } from './duration.js';
import { approval, budget, gates, rollout, triggers } from './policies.js';

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
    name: columnName,
    type: z.enum(['numerical', 'categorical'], { error: 'expected numerical or categorical' }),
    /** Categories known up front (optional); unseen ones go to the unknown bucket at scoring time. */
    categories: z.array(z.string()).optional(),
    description: z.string().optional(),
  })
  .strict();

export const label = z
  .object({
    name: columnName,
    /** How long after a prediction its ground truth typically arrives; unmatured labels are never used. */
    delay: duration().default('1d'),
  })
  .strict();

export const dataSource = z
  .object({
    backend: z.enum(['lake']).default('lake'),
    /** Training data older than this is not used. */
    lookback: duration().default('90d'),
    /** Time-based split: the holdout is the most recent slice and is never seen in training. */
    validationFraction: z.number().gt(0).lt(0.5).default(0.1),
    holdoutFraction: z.number().gt(0).lt(0.5).default(0.1),
    /** Window of recent predictions the monitor compares with the reference profile. */
    monitorWindow: duration().default('24h'),
  })
  .strict();

const builtinTrainer = z
  .object({
    backend: z.literal('builtin'),
    algorithm: z.enum(['logistic_regression', 'linear_regression']).default('logistic_regression'),
    params: z
      .object({
        learningRate: z.number().positive().default(0.1),
        epochs: z.number().int().positive().default(20),
        l2: z.number().min(0).default(1e-4),
        classWeight: z.union([z.literal('balanced'), z.literal('none')]).default('none'),
        seed: z.number().int().default(42),
      })
      .strict()
      .prefault({}),
    timeout: duration().default('1h'),
    costPerHour: z.number().min(0).default(1),
  })
  .strict();

const commandTrainer = z
  .object({
    backend: z.literal('command'),
    /** argv of the trainer; it receives the JSON contract path as its last argument. */
    command: z.array(z.string().min(1)).min(1, { error: 'expected the trainer command as a list, e.g. [python3, train.py]' }),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).default({}),
    params: z.record(z.string(), z.unknown()).default({}),
    timeout: duration().default('2h'),
    heartbeatTimeout: duration().default('2m'),
    costPerHour: z.number().min(0).default(1),
  })
  .strict();

export const trainer = z.discriminatedUnion('backend', [builtinTrainer, commandTrainer], {
  error: 'expected trainer.backend to be builtin or command',
});

export const serving = z
  .object({
    backend: z.enum(['gateway']).default('gateway'),
    /** Base URL of the inference gateway the rollout drives. */
    url: z.string().url().default('http://127.0.0.1:8080'),
    /** Request field used for sticky routing: one entity always sees one variant. */
    entityKey: z.string().min(1).optional(),
  })
  .strict();

export const monitor = z
  .object({
    /** How often the monitor runs: an interval ("1h") or a cron expression. */
    every: duration().optional(),
    cron: z.string().min(1).optional(),
    /** Runs missed while the server was down are caught up only within this window. */
    catchupWindow: duration().default('1h'),
    paused: z.boolean().default(false),
  })
  .strict()
  .refine((m) => !(m.every && m.cron), { error: 'expected either every or cron, not both' })
  .transform((m) => (m.every || m.cron ? m : { ...m, every: '1h' }));

export const model = z
  .object({
    name: modelName,
    description: z.string().optional(),
    task: z.enum(['binary_classification', 'regression'], { error: 'expected binary_classification or regression' }),
    features: z.array(feature).min(1, { error: 'expected at least one feature' }),
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
  });

export const notify = z
  .object({
    /** Slack-compatible incoming webhook; notifications are always logged as well. */
    webhookUrl: z.string().url().optional(),
  })
  .strict();

export const retrainConfig = z
  .object({
    version: z.literal(1, { error: 'expected version: 1' }).default(1),
    /** "demo" compresses every duration (monitor each minute, minute-long canary steps) for the tour. */
    timeProfile: z.enum(['production', 'demo']).default('production'),
    notify: notify.prefault({}),
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
export type RolloutSpec = z.infer<typeof rollout>;
export type TriggerSpec = z.infer<typeof triggers>;
export type GateSpec = z.infer<typeof gates>;
export type ApprovalSpec = z.infer<typeof approval>;
export type BudgetSpec = z.infer<typeof budget>;
