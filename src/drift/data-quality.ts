/**
 * Data-quality checks of a monitor window against the reference profile (seed 001's data-quality
 * monitor): the faults that break a model without moving a distribution much, or before drift is
 * measurable at all.
 *
 *  - missing_rate: share of missing values above the reference's own share by more than `missingRate`;
 *  - out_of_range: share of numerical values outside the reference's [min, max] above `outOfRange`
 *    (a reference of N rows puts about 2/N of new values outside by chance);
 *  - unseen_categories: share of categorical values the reference never saw above `unseenCategories`
 *    (not measurable when the reference lumped rare categories into __other__);
 *  - mean_shift: on features marked `key`, the window mean more than `meanShift` standard errors
 *    (reference std / √n) from the reference mean — the playbook's alarm; deliberately strict, so
 *    only for the features a person marked as worth it.
 *
 * Wrong types never reach the lake: the gateway and the importer refuse them with a message naming
 * the feature (see backends/data/row-rules.ts). Each check needs `minSamples` present values (or
 * rows, for the missing rate) and is skipped below that.
 */
import { categoryKey, OTHER_CATEGORY, type CategoricalProfile, type DriftProfile, type NumericalProfile } from './profile.js';

export const DATA_QUALITY_CHECKS = ['missing_rate', 'out_of_range', 'unseen_categories', 'mean_shift'] as const;
export type DataQualityCheck = (typeof DATA_QUALITY_CHECKS)[number];

export interface DataQualityPolicy {
  /** Extra missing share (over the reference's) that is a violation. */
  missingRate: number;
  /** Share of values outside the reference's range that is a violation. */
  outOfRange: number;
  /** Share of values in categories the reference never saw that is a violation. */
  unseenCategories: number;
  /** Standard errors of the window mean from the reference mean, on key features. */
  meanShift: number;
  /** Features the mean-shift alarm watches. */
  keyFeatures: readonly string[];
  /** Fewest rows (values) a check needs. */
  minSamples: number;
}

export interface DataQualityFinding {
  feature: string;
  check: DataQualityCheck;
  /** The measured share (or, for mean_shift, standard errors; signed). */
  value: number;
  /** What the reference shows (its missing share, its mean), for the report. */
  reference: number;
  /** The limit the value was compared with (for mean_shift, in standard errors). */
  threshold: number;
  violated: boolean;
  samples: number;
}

export interface DataQualityReport {
  rows: number;
  findings: DataQualityFinding[];
  violations: DataQualityFinding[];
}

type Column = ArrayLike<unknown>;

export function assessDataQuality(profile: DriftProfile, columns: Record<string, Column>, policy: DataQualityPolicy): DataQualityReport {
  const findings: DataQualityFinding[] = [];
  const rows = Math.max(0, ...Object.values(columns).map((c) => c.length));
  for (const feature of profile.features) {
    const column = columns[feature.name];
    if (!column || column.length < policy.minSamples) continue;
    const present = feature.type === 'numerical' ? numbers(column) : categories(column);
    const missing = column.length - present.length;
    const referenceMissing = feature.missingCount / Math.max(1, feature.count + feature.missingCount);
    const missingShare = missing / column.length;
    findings.push({
      feature: feature.name, check: 'missing_rate', value: missingShare, reference: referenceMissing,
      threshold: referenceMissing + policy.missingRate, violated: missingShare > referenceMissing + policy.missingRate, samples: column.length,
    });
    if (present.length < policy.minSamples) continue;
    if (feature.type === 'numerical') findings.push(...numericalChecks(feature, present as number[], policy));
    else findings.push(...categoricalChecks(feature, present as string[], policy));
  }
  return { rows, findings, violations: findings.filter((f) => f.violated) };
}

function numericalChecks(feature: NumericalProfile, values: number[], policy: DataQualityPolicy): DataQualityFinding[] {
  const s = feature.summary;
  if (!s) return [];
  const out: DataQualityFinding[] = [];
  let outside = 0;
  let sum = 0;
  for (const v of values) {
    if (v < s.min || v > s.max) outside++;
    sum += v;
  }
  const share = outside / values.length;
  out.push({ feature: feature.name, check: 'out_of_range', value: share, reference: 0, threshold: policy.outOfRange, violated: share > policy.outOfRange, samples: values.length });
  if (policy.keyFeatures.includes(feature.name) && s.std > 0) {
    const standardErrors = (sum / values.length - s.mean) / (s.std / Math.sqrt(values.length));
    out.push({
      feature: feature.name, check: 'mean_shift', value: standardErrors, reference: s.mean,
      threshold: policy.meanShift, violated: Math.abs(standardErrors) > policy.meanShift, samples: values.length,
    });
  }
  return out;
}

function categoricalChecks(feature: CategoricalProfile, values: string[], policy: DataQualityPolicy): DataQualityFinding[] {
  // A reference that lumped rare categories cannot tell an unseen category from a rare one.
  if (feature.truncated || feature.categories.includes(OTHER_CATEGORY)) return [];
  const known = new Set(feature.categories);
  let unseen = 0;
  for (const v of values) if (!known.has(v)) unseen++;
  const share = unseen / values.length;
  return [{ feature: feature.name, check: 'unseen_categories', value: share, reference: 0, threshold: policy.unseenCategories, violated: share > policy.unseenCategories, samples: values.length }];
}

function numbers(column: Column): number[] {
  const out: number[] = [];
  for (let i = 0; i < column.length; i++) {
    const v = column[i];
    if (typeof v === 'number' && Number.isFinite(v)) out.push(v);
  }
  return out;
}

function categories(column: Column): string[] {
  const out: string[] = [];
  for (let i = 0; i < column.length; i++) {
    const key = categoryKey(column[i]);
    if (key !== null) out.push(key);
  }
  return out;
}
