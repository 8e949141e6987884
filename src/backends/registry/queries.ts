import { monthKey } from './sqlite.js';
import type { AliasName, FeatureRecurrence, LedgerEntry, ModelSummary, ModelVersion, Registry, Violation } from './types.js';

/**
 * Read-only views for the CLI (`retrain models list|show`, `retrain ledger`, `retrain violations`): plain, JSON-ready
 * objects, so the CLI only formats them.
 */

export function listModels(registry: Registry): ModelSummary[] {
  return registry.listModels();
}

export interface ModelDetail {
  model: string;
  aliases: Record<AliasName, number | null>;
  versions: ModelVersion[];
  recentLedger: LedgerEntry[];
  spendThisMonth: number;
  month: string;
}

/** Everything `retrain models show <model>` prints; the reference profile is left out (it is large). */
export function showModel(registry: Registry, model: string, options: { now?: Date; ledgerLimit?: number } = {}): ModelDetail {
  const month = monthKey(options.now ?? new Date());
  const versions = registry.listVersions(model).map((v) => ({ ...v, referenceProfile: v.referenceProfile === null ? null : '(stored)' }));
  if (versions.length === 0) registry.getVersion(model, 1); // throws the registry's unknown_model error
  const recentLedger = registry.ledger({ model, limit: options.ledgerLimit ?? 20, newest: true });
  return {
    model,
    aliases: registry.aliases(model),
    versions,
    recentLedger,
    spendThisMonth: registry.monthlySpend(model, month),
    month,
  };
}

/** Ledger entries, oldest first; `limit` keeps the most recent ones. */
export function ledgerEntries(registry: Registry, query: { model?: string; limit?: number } = {}): LedgerEntry[] {
  return registry.ledger({ model: query.model, limit: query.limit, newest: true });
}

const DAY_MS = 86_400_000;

/** Start of the UTC day `days - 1` days before `now`'s: "the last N days", today included. */
export function lastDays(now: Date, days: number): Date {
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  return new Date(today - (days - 1) * DAY_MS);
}

/** How many UTC days [since, until] touches: the "of the last N days" a recurrence is counted over. */
export function daysTouched(since: Date, until: Date): number {
  return Math.max(1, Math.floor(until.getTime() / DAY_MS) - Math.floor(since.getTime() / DAY_MS) + 1);
}

export interface ViolationSummary {
  model: string;
  since: string;
  until: string;
  /** UTC days in the window: recurrence is "drifted on `days` of the last `windowDays` days". */
  windowDays: number;
  /** Newest first. */
  violations: Violation[];
  recurrence: Array<FeatureRecurrence & { windowDays: number }>;
}

/** Everything `retrain violations <model>` prints: the window's violations and each feature's recurrence. */
export function violationSummary(registry: Registry, model: string, options: { since: Date; until?: Date; feature?: string; limit?: number }): ViolationSummary {
  const until = options.until ?? new Date();
  const windowDays = daysTouched(options.since, until);
  const query = { model, feature: options.feature, since: options.since, until };
  return {
    model,
    since: options.since.toISOString(),
    until: until.toISOString(),
    windowDays,
    violations: registry.violations({ ...query, limit: options.limit }),
    recurrence: registry.violationRecurrence(query).map((r) => ({ ...r, windowDays })),
  };
}

/** "drifted on 9 of the last 30 days". */
export function recurrenceText(r: { days: number; windowDays: number }): string {
  return `drifted on ${r.days} of the last ${r.windowDays} day${r.windowDays === 1 ? '' : 's'}`;
}
