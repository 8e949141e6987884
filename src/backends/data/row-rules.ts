import type { ModelSpec } from '../../config/schema.js';

/**
 * What a value must be, wherever a row enters the product: the gateway's predict and feedback
 * requests (src/serving/validation.ts), the lake writers (lake/rows.ts) and `retrain data import`
 * (lake/importer.ts). Each rule returns undefined for a good value and otherwise what is wrong, in
 * words for whoever sent it; the caller adds where (request path, or file, row and column).
 *
 * - Numbers are finite: NaN, ±Infinity and anything that overflows a double (1e400) are refused.
 * - A binary classification label is 0 or 1 (true/false arrive as 1/0); a multiclass label is a
 *   class index 0..k-1 of the spec's `classes`; a regression label is a finite number.
 * - A category is text of at most 256 characters with no control character (U+0000–U+001F,
 *   U+007F): such values are invisible in reports and logs, and a NUL byte has broken queries
 *   (issue 15).
 * - A time lies from 1970-01-01 to before 2100-01-01 (UTC): year 1 or 9999 is a broken export, and
 *   each odd date would become a lake partition of its own.
 * - An id (request_id, entity_id) is non-empty text of at most 256 characters.
 */

export const MAX_TEXT_LENGTH = 256;
export const MIN_TIME_MS = Date.UTC(1970, 0, 1);
/** Exclusive. */
export const MAX_TIME_MS = Date.UTC(2100, 0, 1);

export const BINARY_LABEL_EXPECTED = 'expected 0, 1, true or false (binary classification)';
export const REGRESSION_LABEL_EXPECTED = 'expected a finite number (regression)';
export const FINITE_EXPECTED = 'expected a finite number';

const CONTROL = /[\u0000-\u001f\u007f]/;

/** A number as the sender would recognise it: NaN, Infinity, -Infinity or its JSON form. */
function shown(value: number): string {
  return Number.isFinite(value) ? JSON.stringify(value) : String(value);
}

export function hasControlCharacter(value: string): boolean {
  return CONTROL.test(value);
}

/** The control-character rule alone (the gateway checks length and type separately). */
export function controlCharacterProblem(value: string): string | undefined {
  const m = CONTROL.exec(value);
  if (!m) return undefined;
  const code = m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
  return `contains the control character U+${code} at position ${m.index} (control characters U+0000-U+001F and U+007F are not allowed in categories)`;
}

export function categoryProblem(value: string): string | undefined {
  if (value.length > MAX_TEXT_LENGTH) return `expected at most ${MAX_TEXT_LENGTH} characters, got ${value.length}`;
  return controlCharacterProblem(value);
}

export function numberProblem(value: number): string | undefined {
  return Number.isFinite(value) ? undefined : `${FINITE_EXPECTED}, got ${shown(value)}`;
}

export function labelProblem(task: ModelSpec['task'], value: number, classes?: readonly string[]): string | undefined {
  if (task === 'binary_classification') return value === 0 || value === 1 ? undefined : `${BINARY_LABEL_EXPECTED}, got ${shown(value)}`;
  if (task === 'multiclass_classification') {
    const k = classes?.length ?? 0;
    return Number.isInteger(value) && value >= 0 && value < k ? undefined : `expected a class index 0..${k - 1} (multiclass classification: ${(classes ?? []).join(', ')}), got ${shown(value)}`;
  }
  return Number.isFinite(value) ? undefined : `${REGRESSION_LABEL_EXPECTED}, got ${shown(value)}`;
}

export function timeProblem(ms: number): string | undefined {
  if (!Number.isFinite(ms)) return `expected a time, got ${shown(ms)}`;
  if (ms >= MIN_TIME_MS && ms < MAX_TIME_MS) return undefined;
  const at = new Date(ms);
  const text = Number.isFinite(at.getTime()) ? at.toISOString() : `${ms} ms since 1970`;
  return `expected a time from 1970-01-01 to before 2100-01-01 (UTC), got ${text}`;
}

export function idProblem(value: string): string | undefined {
  if (value.length === 0) return 'expected a non-empty id';
  if (value.length > MAX_TEXT_LENGTH) return `expected an id of at most ${MAX_TEXT_LENGTH} characters, got ${value.length}`;
  return undefined;
}
