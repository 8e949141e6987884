import { z } from 'zod';
import { TASKS } from '../../config/policies.js';

/**
 * The `retrain-linear/v1` model file: a linear model together with the preprocessing it was
 * trained with, so a scorer needs nothing else. Versioned by `format`; a reader refuses any other
 * value instead of guessing.
 *
 * Weight layout (the order of `features`): a numerical feature owns one weight, applied to its
 * standardised value `(x - mean) / std` (missing → `impute`, so NaN never reaches the sum); a
 * categorical feature owns `vocabulary.length + 1` weights, one per known category and a last
 * one for the unknown bucket, which also takes missing values.
 */
export const LINEAR_FORMAT = 'retrain-linear/v1';

const finite = z.number().refine(Number.isFinite, { error: 'expected a finite number' });

const numericalFeature = z
  .object({
    name: z.string().min(1),
    type: z.literal('numerical'),
    mean: finite,
    std: finite.refine((v) => v > 0, { error: 'expected a positive std' }),
    /** Raw value used when the input is missing (the training mean by default). */
    impute: finite,
  })
  .strict();

const categoricalFeature = z
  .object({
    name: z.string().min(1),
    type: z.literal('categorical'),
    vocabulary: z.array(z.string()),
  })
  .strict();

export const linearFeature = z.discriminatedUnion('type', [numericalFeature, categoricalFeature]);

export const linearModel = z
  .object({
    format: z.literal(LINEAR_FORMAT, { error: `expected format "${LINEAR_FORMAT}"` }),
    task: z.enum(TASKS),
    algorithm: z.string().optional(),
    label: z.string().min(1),
    features: z.array(linearFeature).min(1, { error: 'expected at least one feature' }),
    /** Binary and regression: one weight per input (see the layout above). Multiclass: k such blocks, class by class. */
    weights: z.array(finite),
    /** Binary and regression: the intercept. */
    bias: finite.optional(),
    /** Multiclass only: the class names, in label order (label i is classes[i]). */
    classes: z.array(z.string()).optional(),
    /** Multiclass only: one intercept per class. */
    biases: z.array(finite).optional(),
    /** Binary only: a score at or above it predicts class 1. */
    threshold: z.number().min(0).max(1).optional(),
    /** Free-form provenance (params, seed, row counts); never read by scoring. */
    training: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    const names = new Set<string>();
    for (const [i, f] of m.features.entries()) {
      if (names.has(f.name)) ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: `duplicate feature "${f.name}"` });
      names.add(f.name);
      if (f.type === 'categorical' && new Set(f.vocabulary).size !== f.vocabulary.length) {
        ctx.addIssue({ code: 'custom', path: ['features', i, 'vocabulary'], message: 'duplicate category in vocabulary' });
      }
    }
    const multiclass = m.task === 'multiclass_classification';
    const k = multiclass ? (m.classes?.length ?? 0) : 1;
    const expected = weightCount(m.features) * k;
    if (m.weights.length !== expected) {
      ctx.addIssue({ code: 'custom', path: ['weights'], message: `expected ${expected} weights for these features${multiclass ? ` and ${k} classes` : ''}, got ${m.weights.length}` });
    }
    if (multiclass) {
      if (!m.classes || m.classes.length < 3) ctx.addIssue({ code: 'custom', path: ['classes'], message: 'expected the names of at least 3 classes for a multiclass classifier' });
      if (m.biases?.length !== k) ctx.addIssue({ code: 'custom', path: ['biases'], message: `expected one bias per class (${k}), got ${m.biases?.length ?? 'none'}` });
    } else {
      if (m.bias === undefined) ctx.addIssue({ code: 'custom', path: ['bias'], message: 'expected a bias' });
      if (m.classes !== undefined || m.biases !== undefined) ctx.addIssue({ code: 'custom', path: ['classes'], message: `classes and biases belong to multiclass classifiers; this one is ${m.task}` });
    }
    if (m.task === 'binary_classification' && m.threshold === undefined) {
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'expected a threshold for a binary classifier' });
    }
  });

export type LinearFeature = z.infer<typeof linearFeature>;
export type LinearModel = z.infer<typeof linearModel>;

export function weightCount(features: readonly LinearFeature[]): number {
  return features.reduce((sum, f) => sum + (f.type === 'numerical' ? 1 : f.vocabulary.length + 1), 0);
}

/** Offset of each feature's first weight, in feature order. */
export function weightOffsets(features: readonly LinearFeature[]): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const f of features) {
    offsets.push(at);
    at += f.type === 'numerical' ? 1 : f.vocabulary.length + 1;
  }
  return offsets;
}

/** Human names of the weights, for reports ("amount", "country=DE", "country=<unknown>"). */
export function weightNames(features: readonly LinearFeature[]): string[] {
  return features.flatMap((f) => (f.type === 'numerical' ? [f.name] : [...f.vocabulary.map((c) => `${f.name}=${c}`), `${f.name}=<unknown>`]));
}
