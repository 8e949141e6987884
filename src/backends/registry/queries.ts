import { monthKey } from './sqlite.js';
import type { AliasName, LedgerEntry, ModelSummary, ModelVersion, Registry } from './types.js';

/**
 * Read-only views for the CLI (`retrain models list|show`, `retrain ledger`): plain, JSON-ready
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
