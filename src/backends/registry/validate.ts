import { RegistryError, VIOLATION_DECISIONS, VIOLATION_STATISTICS, type RegisterVersionInput, type ViolationInput, type ViolationQuery } from './types.js';

/** Input checks and value conventions shared by the registry stores (SQLite and PostgreSQL), so both refuse the same things with the same words. */

/** UTC month key of a date, e.g. "2025-03". */
export function monthKey(date: Date): string {
  return date.toISOString().slice(0, 7);
}

export function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

export const VIOLATION_FILTER = `model = @model AND (@feature IS NULL OR feature = @feature)
  AND (@since IS NULL OR checked_at >= @since) AND (@until IS NULL OR checked_at <= @until)`;

/** A violations query's filter values, checked: one shape for the SQLite statement's names and the PostgreSQL worker's arguments. */
export function violationParams(query: ViolationQuery): { model: string; feature: string | null; since: string | null; until: string | null } {
  requireText(query.model, 'model');
  return {
    model: query.model,
    feature: query.feature ?? null,
    since: query.since === undefined ? null : isoTime(query.since, 'since'),
    until: query.until === undefined ? null : isoTime(query.until, 'until'),
  };
}

/** A valid time as the ISO text the store compares and groups by (UTC, so the day is its first 10 characters). */
export function isoTime(value: Date | string, what: string): string {
  const at = value instanceof Date ? value : new Date(value);
  if (!Number.isFinite(at.getTime())) throw new RegistryError('invalid_input', `${what} must be a valid time, got ${JSON.stringify(value)}`);
  return at.toISOString();
}

export function checkViolation(v: ViolationInput): void {
  requireText(v.feature, 'violation feature');
  if (!(VIOLATION_STATISTICS as readonly string[]).includes(v.statistic)) {
    throw new RegistryError('invalid_input', `violation statistic must be one of ${VIOLATION_STATISTICS.join(', ')}, got ${JSON.stringify(v.statistic)}`);
  }
  for (const [key, value] of [['score', v.score], ['threshold', v.threshold]] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new RegistryError('invalid_input', `violation ${key} of ${v.feature} must be a finite number, got ${JSON.stringify(value)}`);
  }
  if (v.importanceShare != null && !(Number.isFinite(v.importanceShare) && v.importanceShare >= 0 && v.importanceShare <= 1)) {
    throw new RegistryError('invalid_input', `violation importanceShare of ${v.feature} must be between 0 and 1, got ${JSON.stringify(v.importanceShare)}`);
  }
  if (!(VIOLATION_DECISIONS as readonly string[]).includes(v.decision)) {
    throw new RegistryError('invalid_input', `violation decision must be one of ${VIOLATION_DECISIONS.join(', ')}, got ${JSON.stringify(v.decision)}`);
  }
  requireText(v.decisionReason, 'violation decisionReason');
}

export function requireText(value: unknown, what: string): void {
  if (typeof value !== 'string' || value.trim() === '') throw new RegistryError('invalid_input', `${what} must be a non-empty string`);
}

export function checkMetrics(metrics: unknown, what: string): void {
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) throw new RegistryError('invalid_input', `${what} must be an object of numbers`);
  for (const [key, value] of Object.entries(metrics)) {
    if (value !== null && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw new RegistryError('invalid_input', `${what}.${key} must be a finite number or null, got ${JSON.stringify(value)}`);
    }
  }
}

/** The cost and training time of a version to register: a non-negative cost, a valid time not in the future (default now). */
export function checkRegistration(input: Pick<RegisterVersionInput, 'costUsd' | 'createdAt'>, now: Date): { costUsd: number; createdAt: Date } {
  const costUsd = input.costUsd ?? 0;
  if (!Number.isFinite(costUsd) || costUsd < 0) throw new RegistryError('invalid_input', `costUsd must be a non-negative number, got ${costUsd}`);
  const createdAt = input.createdAt ?? now;
  if (!(createdAt instanceof Date) || !Number.isFinite(createdAt.getTime()) || createdAt.getTime() > now.getTime()) {
    throw new RegistryError('invalid_input', `createdAt must be a valid time that is not in the future, got ${String(input.createdAt)}`);
  }
  return { costUsd, createdAt };
}
