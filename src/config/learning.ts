import { z } from 'zod';
import { duration } from './duration.js';

/**
 * Seed 002's three learning strategies. `batch` is the pipeline alone. `online` and `hybrid` also
 * keep an online copy of the champion that learns from each matured label between retrains
 * (bounded stochastic gradient steps, one learner per model, snapshots judged like challengers).
 */
export const LEARNING_MODES = ['batch', 'online', 'hybrid'] as const;
export type LearningMode = (typeof LEARNING_MODES)[number];

export const learning = z
  .object({
    mode: z
      .enum(LEARNING_MODES, { error: 'expected batch, online or hybrid' })
      .default('batch')
      .describe(
        'batch: the champion changes only through the pipeline. online: the gateway serves an online copy of the champion that learns from matured labels. hybrid: it serves a blend of the batch champion and that online copy (weights below).',
      ),
    learningRate: z
      .number({ error: 'expected a number' })
      .positive({ error: 'expected a learning rate greater than 0' })
      .max(1, { error: 'expected a learning rate of at most 1 (a step moves a prediction by at most this much of its error)' })
      .default(0.05)
      .describe('Step size of one update, normalised by the example\'s squared norm: one label moves its own prediction by at most this fraction of its error, whatever the feature scale.'),
    l2: z.number({ error: 'expected a number' }).min(0).max(1).default(0).describe('Weight decay per update, pulling the online weights towards zero.'),
    maxUpdatesPerMinute: z
      .number({ error: 'expected a number' })
      .int({ error: 'expected a whole number' })
      .positive({ error: 'expected at least 1 update a minute' })
      .default(600)
      .describe('At most this many labels update the model per minute of labels; beyond it the learner takes an even sample, so a flood of feedback cannot swing the model.'),
    updateEvery: duration().default('1m').describe('How often the learner reads the labels that matured since its last step and pushes the updated weights to the gateway.'),
    snapshotEvery: duration().default('1h').describe('How often the online model is registered as a version and scored on the champion\'s holdout.'),
    tolerance: z
      .number({ error: 'expected a number' })
      .min(0)
      .max(1)
      .default(0.02)
      .describe('A snapshot worse than the last good one by more than this fraction of its value, on the gates metric and the champion\'s holdout, freezes the learner, resets the online model to the last good snapshot and alerts.'),
    weights: z
      .object({
        batch: z.number({ error: 'expected a number' }).min(0).max(1).default(0.7),
        online: z.number({ error: 'expected a number' }).min(0).max(1).default(0.3),
      })
      .strict()
      .prefault({})
      .refine((w) => Math.abs(w.batch + w.online - 1) < 1e-9, { error: 'expected the batch and online weights to add up to 1' })
      .describe('hybrid only: prediction = batch × champion + online × online model (probabilities for classifiers).'),
  })
  .strict()
  .describe('Online and hybrid learning between retrains (built-in linear and logistic models)');

export type LearningSpec = z.infer<typeof learning>;
