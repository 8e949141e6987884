import { z } from 'zod';
import {
  BINARY_LABEL_EXPECTED,
  categoryProblem,
  controlCharacterProblem,
  MAX_TEXT_LENGTH,
  numberProblem,
  REGRESSION_LABEL_EXPECTED,
} from '../backends/data/row-rules.js';
import type { ModelSpec } from '../config/schema.js';
import { fieldIssues, formatPath, HttpError, invalidRequest, invalidValue, parseOrThrow, type FieldIssue } from './errors.js';

/**
 * Request schemas built from a model's spec.
 *
 * Missing-feature rule: every feature of the spec must be present as a key. An explicit `null`
 * means "value unknown" and is accepted (numerical → the model's imputed training mean,
 * categorical → the unknown bucket); an absent key is refused, so a typo or a client built for an
 * older spec shows up as a 400 instead of silently scoring an imputed value. Keys the spec does
 * not know are refused for the same reason (and because the lake stores exactly the spec's columns).
 *
 * Numerical: a finite JSON number (no strings, booleans; 1e400 parses to Infinity and is refused).
 * Categorical: a string of at most 256 characters; unseen categories are accepted and scored in
 * the model's unknown bucket. A category holding a control character (U+0000-U+001F, U+007F) is
 * well-formed JSON but not a value: 422 naming the feature.
 *
 * The value rules are the ones of src/backends/data/row-rules.ts, which the lake writers and
 * `retrain data import` apply too: whatever the gateway refuses, the importer refuses.
 */

export const MAX_INSTANCES = 1_000;
const MAX_ID = MAX_TEXT_LENGTH;

export type FeatureValues = Record<string, number | string | null>;

export interface PredictInstance {
  entity_id?: string;
  features: FeatureValues;
}

const missing = 'missing feature (send null to mark an unknown value)';

function featureSchema(f: ModelSpec['features'][number]) {
  if (f.type === 'numerical') {
    return z.number({ error: (iss) => (iss.input === undefined ? missing : 'expected a finite number') }).nullable();
  }
  return z
    .string({ error: (iss) => (iss.input === undefined ? missing : 'expected a string (categorical)') })
    .max(MAX_ID, { error: `expected at most ${MAX_ID} characters` })
    .nullable();
}

/** entity_id may arrive as a number from JSON clients; it is kept as text (the lake stores text). */
const entityId = z
  .union([z.string().min(1).max(MAX_ID), z.number().int().refine(Number.isSafeInteger)], {
    error: `expected a non-empty string (at most ${MAX_ID} characters) or an integer`,
  })
  .transform(String);

export interface ModelSchemas {
  /**
   * A hand-written check of the common case, generated from the same spec: it accepts only what
   * `instance` accepts (property-tested), and on anything else the zod schema runs and reports
   * every issue. It saves the request path the generic parse of a valid row.
   */
  fastInstance: (value: unknown) => PredictInstance | undefined;
  instance: z.ZodType<PredictInstance>;
  instances: z.ZodType<PredictInstance[]>;
  feedbackItem: z.ZodType<FeedbackItem>;
  feedbackList: z.ZodType<FeedbackItem[]>;
  /** After `instance(s)` accepted the shape: the value rules the JSON schema does not express (422). */
  checkValues: (instances: PredictInstance[], batch: boolean) => void;
}

export interface FeedbackItem {
  request_id: string;
  label: number;
}

export function buildSchemas(spec: ModelSpec): ModelSchemas {
  const features = z
    .object(Object.fromEntries(spec.features.map((f) => [f.name, featureSchema(f)])), {
      error: (iss) => (iss.input === undefined ? 'missing (expected an object of feature values)' : 'expected an object of feature values'),
    })
    .strict();
  const instance = z.object({ entity_id: entityId.optional(), features }, { error: 'expected an object with features' }).strict();

  const label =
    spec.task === 'binary_classification'
      ? z
          .union([z.literal(0), z.literal(1), z.boolean()], { error: BINARY_LABEL_EXPECTED })
          .transform((v) => (v === true ? 1 : v === false ? 0 : v))
      : spec.task === 'multiclass_classification'
        ? multiclassLabel(spec.classes ?? [])
        : z.number({ error: REGRESSION_LABEL_EXPECTED });
  const feedbackItem = z
    .object(
      {
        request_id: z.string({ error: 'expected the request_id returned by predict' }).min(1).max(MAX_ID),
        label,
      },
      { error: 'expected an object {request_id, label}' },
    )
    .strict();
  return {
    fastInstance: fastInstanceCheck(spec),
    instance: instance as z.ZodType<PredictInstance>,
    instances: z.array(instance) as z.ZodType<PredictInstance[]>,
    feedbackItem: feedbackItem as z.ZodType<FeedbackItem>,
    feedbackList: z.array(feedbackItem) as z.ZodType<FeedbackItem[]>,
    checkValues: (instances, batch) => refuseControlCharacters(spec, instances, batch),
  };
}

/** A multiclass label: the class index (what predict answers as `prediction`) or the class name. */
function multiclassLabel(classes: readonly string[]): z.ZodType<number, unknown> {
  const index = new Map(classes.map((c, i) => [c, i]));
  const expected = `expected a class index 0..${classes.length - 1} or a class name (${classes.join(', ')})`;
  return z.union([z.number(), z.string()], { error: expected }).transform((v, ctx) => {
    const at = typeof v === 'string' ? index.get(v) : Number.isInteger(v) && v >= 0 && v < classes.length ? v : undefined;
    if (at === undefined) {
      ctx.addIssue({ code: 'custom', message: `${expected}, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return at;
  });
}

/** A well-formed instance whose categories hold a control character: 422 naming each such feature. */
function refuseControlCharacters(spec: ModelSpec, instances: PredictInstance[], batch: boolean): void {
  const categorical = spec.features.filter((f) => f.type === 'categorical').map((f) => f.name);
  const issues: FieldIssue[] = [];
  instances.forEach((instance, i) => {
    for (const name of categorical) {
      const v = instance.features[name];
      const problem = typeof v === 'string' ? controlCharacterProblem(v) : undefined;
      if (problem) issues.push({ path: formatPath(batch ? ['instances', i, 'features', name] : ['features', name]), message: problem });
    }
  });
  if (issues.length) throw invalidValue(issues);
}

function fastInstanceCheck(spec: ModelSpec): (value: unknown) => PredictInstance | undefined {
  const names = spec.features.map((f) => f.name);
  const numerical = spec.features.map((f) => f.type === 'numerical');
  const count = names.length;
  return (value) => {
    if (!isObject(value)) return undefined;
    let keys = 0;
    for (const k in value) {
      if (k !== 'features' && k !== 'entity_id') return undefined;
      keys++;
    }
    const features = value.features;
    const entity = value.entity_id;
    if (!isObject(features) || keys !== (entity === undefined ? 1 : 2) || ('entity_id' in value && entity === undefined)) return undefined;
    let entityId: string | undefined;
    if (typeof entity === 'string') {
      if (entity.length === 0 || entity.length > MAX_ID) return undefined;
      entityId = entity;
    } else if (typeof entity === 'number') {
      if (!Number.isSafeInteger(entity)) return undefined;
      entityId = String(entity);
    } else if (entity !== undefined) return undefined;
    let seen = 0;
    for (const _ in features) seen++;
    if (seen !== count) return undefined;
    for (let i = 0; i < count; i++) {
      const name = names[i];
      if (!Object.prototype.hasOwnProperty.call(features, name)) return undefined;
      const v = features[name];
      if (v === null) continue;
      if (numerical[i] ? typeof v !== 'number' || numberProblem(v) !== undefined : typeof v !== 'string' || categoryProblem(v) !== undefined) return undefined;
    }
    return entityId === undefined ? { features: features as FeatureValues } : { entity_id: entityId, features: features as FeatureValues };
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A predict body: one `{entity_id?, features}` or `{instances: [...]}`. Returns the instances and
 * whether the caller sent a batch (the reply mirrors the shape).
 */
export function parsePredictBody(schemas: ModelSchemas, body: unknown): { batch: boolean; instances: PredictInstance[] } {
  if (!isObject(body)) throw invalidRequest([{ path: 'body', message: 'expected a JSON object: {"features": {...}} or {"instances": [...]}' }]);
  if (!('instances' in body)) {
    const fast = schemas.fastInstance(body);
    if (fast) return { batch: false, instances: [fast] };
    const instances = [parseOrThrow(schemas.instance, body)];
    schemas.checkValues(instances, false);
    return { batch: false, instances };
  }
  const list = body.instances;
  if (Array.isArray(list) && list.length > 0 && list.length <= MAX_INSTANCES && Object.keys(body).length === 1) {
    const fast: PredictInstance[] = new Array(list.length);
    let ok = true;
    for (let i = 0; i < list.length && ok; i++) ok = (fast[i] = schemas.fastInstance(list[i])!) !== undefined;
    if (ok) return { batch: true, instances: fast };
  }
  // The fast check refuses a control character; the slow path reports it (422) after the shape (400).
  const instances = parseList(schemas.instances, body, 'instances', 'features');
  schemas.checkValues(instances, true);
  return { batch: true, instances };
}

/** A feedback body: one `{request_id, label}` or `{labels: [...]}`. */
export function parseFeedbackBody(schemas: ModelSchemas, body: unknown): FeedbackItem[] {
  if (!isObject(body)) throw invalidRequest([{ path: 'body', message: 'expected a JSON object: {"request_id": ..., "label": ...} or {"labels": [...]}' }]);
  if (!('labels' in body)) return [parseOrThrow(schemas.feedbackItem, body)];
  return parseList(schemas.feedbackList, body, 'labels', 'request_id');
}

function parseList<T>(item: z.ZodType<T[]>, body: Record<string, unknown>, key: string, single: string): T[] {
  const issues: FieldIssue[] = [];
  const extra = Object.keys(body).filter((k) => k !== key);
  for (const k of extra) issues.push({ path: k, message: `unknown field (a batch holds only "${key}"; put ${single} inside each item)` });
  const list = body[key];
  if (!Array.isArray(list)) throw invalidRequest([...issues, { path: key, message: 'expected an array' }]);
  if (list.length === 0) throw invalidRequest([...issues, { path: key, message: 'expected at least one item' }]);
  if (list.length > MAX_INSTANCES) {
    throw new HttpError(413, 'batch_too_large', `${key}: at most ${MAX_INSTANCES} items per request, got ${list.length}; split the batch`);
  }
  const result = item.safeParse(list);
  if (result.success && issues.length === 0) return result.data;
  throw invalidRequest([...issues, ...(result.success ? [] : fieldIssues(result.error.issues, [key]))]);
}
