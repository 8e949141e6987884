import type { FeatureSpec, ModelSpec } from '../../../config/schema.js';
import { DataInputError, type LakeKind } from '../types.js';

/**
 * The canonical column list of each lake table for a model. Writers produce exactly this, the
 * importer converts to it, and readers quarantine any file that differs, so every query can rely
 * on one schema per table.
 */

export type LakeType = 'VARCHAR' | 'TIMESTAMP' | 'DOUBLE';

export interface LakeColumn {
  name: string;
  type: LakeType;
  /** NULL is refused on import and by the writers. */
  notNull: boolean;
  /** An imported file may leave this column out (it is stored as NULL). */
  optional: boolean;
  /** Set for feature columns. */
  feature?: FeatureSpec;
}

const col = (name: string, type: LakeType, notNull = true, optional = false): LakeColumn => ({ name, type, notNull, optional });

const PREDICTION_FIXED = ['request_id', 'ts', 'model_version', 'variant', 'entity_id', 'prediction', 'score', 'latency_ms'];

export function featureLakeType(feature: FeatureSpec): LakeType {
  return feature.type === 'numerical' ? 'DOUBLE' : 'VARCHAR';
}

function featureColumns(spec: ModelSpec): LakeColumn[] {
  return spec.features.map((f) => ({ name: f.name, type: featureLakeType(f), notNull: false, optional: false, feature: f }));
}

export function lakeColumns(spec: ModelSpec, kind: LakeKind): LakeColumn[] {
  switch (kind) {
    case 'predictions':
      assertNoCollision(spec, PREDICTION_FIXED, 'predictions');
      return [
        col('request_id', 'VARCHAR'),
        col('ts', 'TIMESTAMP'),
        col('model_version', 'VARCHAR'),
        col('variant', 'VARCHAR'),
        col('entity_id', 'VARCHAR', false, true),
        ...featureColumns(spec),
        col('prediction', 'DOUBLE'),
        col('score', 'DOUBLE'),
        col('latency_ms', 'DOUBLE', false, true),
      ];
    case 'labels':
      return labelLakeColumns();
    case 'training':
      assertNoCollision(spec, ['request_id', 'ts'], 'training');
      return [col('request_id', 'VARCHAR'), col('ts', 'TIMESTAMP'), ...featureColumns(spec), col(spec.label.name, 'DOUBLE')];
    case 'serving_errors':
      return servingErrorLakeColumns();
  }
}

/** The gateway's scoring failures: the prediction's identity without features or answer, and why. */
export function servingErrorLakeColumns(): LakeColumn[] {
  return [
    col('request_id', 'VARCHAR'),
    col('ts', 'TIMESTAMP'),
    col('model_version', 'VARCHAR'),
    col('variant', 'VARCHAR'),
    col('latency_ms', 'DOUBLE', false, true),
    col('reason', 'VARCHAR'),
  ];
}

/** Labels do not depend on the model's features, so writers can append them knowing only the model name. */
export function labelLakeColumns(): LakeColumn[] {
  return [col('request_id', 'VARCHAR'), col('label', 'DOUBLE'), col('label_ts', 'TIMESTAMP')];
}

/** The column whose UTC date names a row's partition. */
export function partitionColumn(kind: LakeKind): string {
  return kind === 'labels' ? 'label_ts' : 'ts';
}

/** Columns of a dataset split file (what the training backend reads). */
export function datasetColumns(spec: ModelSpec): { name: string; type: LakeType }[] {
  return [
    { name: 'request_id', type: 'VARCHAR' },
    { name: 'ts', type: 'TIMESTAMP' },
    ...spec.features.map((f) => ({ name: f.name, type: featureLakeType(f) })),
    { name: spec.label.name, type: 'DOUBLE' },
  ];
}

/** A feature named like a fixed column would make two columns with one name in the Parquet file. */
function assertNoCollision(spec: ModelSpec, fixed: string[], table: string): void {
  const clashes = spec.features.filter((f) => fixed.includes(f.name)).map((f) => f.name);
  if (clashes.length > 0) {
    throw new DataInputError(
      `model ${spec.name}: feature name(s) ${clashes.join(', ')} collide with the ${table} table's own columns (${fixed.join(', ')}); rename the feature`,
      { columns: clashes },
    );
  }
}
