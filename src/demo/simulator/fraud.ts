import { model as modelSchema, type ModelSpec } from '../../config/schema.js';
import { mix, Rng, sigmoid } from './rng.js';

/**
 * The card-not-present fraud example (retrain.yaml's fraud-detector): a pool of users with stable
 * profiles (home country, usual device, account age), transactions with a daily rhythm, and a
 * logistic ground truth. Drift shifts amounts, distances, merchant and device mixes; a concept
 * change moves the ground truth to a different fraud pattern (small restaurant charges on mobile
 * instead of big gift-card purchases), which feature monitoring alone cannot see.
 */
export const FRAUD_FEATURES = [
  { name: 'transaction_amount', type: 'numerical' },
  { name: 'account_age_days', type: 'numerical' },
  { name: 'hour_of_day', type: 'numerical' },
  { name: 'distance_from_home_km', type: 'numerical' },
  { name: 'user_country', type: 'categorical' },
  { name: 'merchant_category', type: 'categorical' },
  { name: 'device_type', type: 'categorical' },
] as const;

/** Features drift applies to unless told otherwise. */
export const FRAUD_DRIFT_FEATURES = ['transaction_amount', 'distance_from_home_km', 'merchant_category', 'device_type'];

export const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'CA', 'BR', 'IN', 'NG'];
const COUNTRY_WEIGHTS = [0.35, 0.12, 0.1, 0.08, 0.08, 0.1, 0.1, 0.07];
export const MERCHANTS = ['grocery', 'restaurants', 'fuel', 'fashion', 'travel', 'electronics', 'gaming', 'gift_cards'];
const MERCHANT_WEIGHTS = [0.28, 0.2, 0.12, 0.12, 0.08, 0.1, 0.06, 0.04];
const MERCHANT_WEIGHTS_DRIFTED = [0.14, 0.12, 0.08, 0.1, 0.1, 0.22, 0.11, 0.13];
export const DEVICES = ['mobile', 'desktop', 'tablet'];
const DEVICE_WEIGHTS = [0.6, 0.3, 0.1];
const DEVICE_WEIGHTS_DRIFTED = [0.35, 0.5, 0.15];
/** Relative transaction volume by hour of day: quiet nights, a lunch bump, busy evenings. */
export const HOURLY_VOLUME = [0.6, 0.4, 0.3, 0.25, 0.25, 0.35, 0.7, 1.2, 1.6, 1.8, 1.9, 2.1, 2.4, 2.2, 2.0, 2.0, 2.1, 2.4, 2.7, 2.8, 2.5, 2.0, 1.4, 0.9];

const MERCHANT_RISK: Record<string, number> = { gift_cards: 1.6, electronics: 0.9, gaming: 0.7, travel: 0.3 };
const MERCHANT_RISK_NEW: Record<string, number> = { restaurants: 1.3, fuel: 0.8, gift_cards: 0.2 };
const COUNTRY_RISK: Record<string, number> = { NG: 0.9, BR: 0.5, IN: 0.3 };

interface UserProfile {
  country: string;
  device: string;
  ageDays: number;
}

export interface FraudTransaction {
  entity_id: string;
  features: {
    transaction_amount: number;
    account_age_days: number;
    hour_of_day: number;
    distance_from_home_km: number;
    user_country: string;
    merchant_category: string;
    device_type: string;
  };
  /** Probability of fraud under the ground truth in force. */
  fraudProbability: number;
  label: 0 | 1;
}

export interface FraudDrawOptions {
  /** Drift intensity 0..1 for each drifted feature (features not listed are not drifted). */
  drift: number;
  driftFeatures: ReadonlySet<string>;
  /** Concept change 0..1: blend of the original and the changed ground truth. */
  concept: number;
  /** Hour of day to use (history rows take it from their timestamp); drawn from HOURLY_VOLUME otherwise. */
  hour?: number;
  /** Days since the simulation started, added to account ages. */
  elapsedDays?: number;
}

export class FraudGenerator {
  private readonly users = new Map<number, UserProfile>();
  private readonly userRng: Rng;
  private readonly rng: Rng;

  constructor(
    seed: number,
    readonly userCount = 5_000,
  ) {
    const root = new Rng(seed);
    this.userRng = root.fork('users');
    this.rng = root.fork('transactions');
  }

  private user(i: number): UserProfile {
    let u = this.users.get(i);
    if (!u) {
      // Each profile comes from its own stream so it does not depend on the order users appear in.
      const r = this.userRng.fork(`user-${i}`);
      u = {
        country: COUNTRIES[r.weighted(COUNTRY_WEIGHTS)],
        device: DEVICES[r.weighted(DEVICE_WEIGHTS)],
        ageDays: Math.min(6_000, Math.round(r.lognormal(5.5, 1.1))),
      };
      this.users.set(i, u);
    }
    return u;
  }

  draw(options: FraudDrawOptions): FraudTransaction {
    const r = this.rng;
    const d = (name: string) => (options.driftFeatures.has(name) ? options.drift : 0);
    const userIndex = r.int(this.userCount);
    const user = this.user(userIndex);
    const hour = options.hour ?? r.weighted(HOURLY_VOLUME);
    const amount = Math.round(r.lognormal(3.4 + 0.9 * d('transaction_amount'), 1.0 + 0.2 * d('transaction_amount')) * 100) / 100;
    const distance = Math.round(r.lognormal(1.6 + 1.2 * d('distance_from_home_km'), 1.1) * 10) / 10;
    const abroad = r.bernoulli(0.08);
    const country = abroad ? COUNTRIES[r.weighted(COUNTRY_WEIGHTS)] : user.country;
    const merchant = MERCHANTS[r.weighted(mix(MERCHANT_WEIGHTS, MERCHANT_WEIGHTS_DRIFTED, d('merchant_category')))];
    const device = r.bernoulli(0.8) && d('device_type') === 0 ? user.device : DEVICES[r.weighted(mix(DEVICE_WEIGHTS, DEVICE_WEIGHTS_DRIFTED, d('device_type')))];
    const age = Math.round(user.ageDays + (options.elapsedDays ?? 0));
    const features = {
      transaction_amount: amount,
      account_age_days: age,
      hour_of_day: hour,
      distance_from_home_km: distance,
      user_country: country,
      merchant_category: merchant,
      device_type: device,
    };
    const p = fraudProbability(features, country !== user.country, options.concept);
    return { entity_id: `user-${String(userIndex).padStart(5, '0')}`, features, fraudProbability: p, label: r.bernoulli(p) ? 1 : 0 };
  }
}

/** The ground truth: a logistic function of the features; `concept` blends in the changed pattern. */
export function fraudProbability(f: FraudTransaction['features'], abroad: boolean, concept = 0): number {
  const night = f.hour_of_day < 6 ? 1 : 0;
  const base = -3.5 + 0.8 * Math.log(f.transaction_amount / 30) + 0.9 * night - 0.45 * Math.log1p(f.account_age_days / 30) + 0.5 * Math.log1p(f.distance_from_home_km / 20);
  const shared = (COUNTRY_RISK[f.user_country] ?? 0) + (abroad ? 0.8 : 0) + (f.device_type === 'desktop' ? 0.2 : 0);
  const before = base + shared + (MERCHANT_RISK[f.merchant_category] ?? 0);
  if (concept <= 0) return sigmoid(before);
  const changed =
    -3.0 + 0.15 * Math.log(f.transaction_amount / 30) - 0.3 * night - 0.2 * Math.log1p(f.account_age_days / 30) + 0.9 * Math.log1p(f.distance_from_home_km / 20) +
    shared + (MERCHANT_RISK_NEW[f.merchant_category] ?? 0) + (f.device_type === 'mobile' ? 0.9 : 0);
  return sigmoid((1 - concept) * before + concept * changed);
}

/** The demo's fraud model (as in retrain.yaml), sticky on entity_id: for benchmarks and tests. */
export function fraudModelSpec(overrides: Record<string, unknown> = {}): ModelSpec {
  return modelSchema.parse({
    name: 'fraud-detector',
    task: 'binary_classification',
    features: FRAUD_FEATURES.map((f) => ({ ...f })),
    label: { name: 'is_fraud', delay: '1h' },
    serving: { entityKey: 'entity_id' },
    ...overrides,
  });
}
