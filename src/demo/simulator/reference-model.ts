import { LINEAR_FORMAT, weightCount, type LinearModel } from '../../backends/models/index.js';
import { COUNTRIES, DEVICES, MERCHANTS } from './fraud.js';

/**
 * A hand-written `retrain-linear/v1` model for the fraud example, shaped like what the builtin
 * trainer produces from simulator data (standardisation statistics of the generator, weights
 * close to the ground truth). For benchmarks, tests and demos that need a realistic champion
 * before anything was trained. `variant` nudges the weights so two versions score differently.
 */
export function fraudReferenceModel(options: { variant?: number; threshold?: number } = {}): LinearModel {
  const v = options.variant ?? 0;
  const features: LinearModel['features'] = [
    { name: 'transaction_amount', type: 'numerical', mean: 49.4, std: 68.0, impute: 49.4 },
    { name: 'account_age_days', type: 'numerical', mean: 400, std: 520, impute: 400 },
    { name: 'hour_of_day', type: 'numerical', mean: 13.4, std: 5.6, impute: 13.4 },
    { name: 'distance_from_home_km', type: 'numerical', mean: 9.1, std: 13.5, impute: 9.1 },
    { name: 'user_country', type: 'categorical', vocabulary: COUNTRIES },
    { name: 'merchant_category', type: 'categorical', vocabulary: MERCHANTS },
    { name: 'device_type', type: 'categorical', vocabulary: DEVICES },
  ];
  const countryRisk: Record<string, number> = { NG: 0.9, BR: 0.5, IN: 0.3 };
  const merchantRisk: Record<string, number> = { gift_cards: 1.6, electronics: 0.9, gaming: 0.7, travel: 0.3 };
  const weights = [
    0.55 + 0.1 * v,
    -0.6,
    -0.35,
    0.4 - 0.05 * v,
    ...COUNTRIES.map((c) => countryRisk[c] ?? 0),
    0.4, // unknown country: most likely abroad
    ...MERCHANTS.map((m) => merchantRisk[m] ?? 0),
    0.3,
    ...DEVICES.map((d) => (d === 'desktop' ? 0.2 : d === 'tablet' ? 0.1 : 0)),
    0.1,
  ];
  if (weights.length !== weightCount(features)) throw new Error('fraudReferenceModel: weight layout out of date');
  return {
    format: LINEAR_FORMAT,
    task: 'binary_classification',
    algorithm: 'logistic_regression',
    label: 'is_fraud',
    features,
    weights,
    bias: -3.6 + 0.2 * v,
    threshold: options.threshold ?? 0.5,
    training: { source: 'hand-written reference model (src/demo/simulator/reference-model.ts)', variant: v },
  };
}
