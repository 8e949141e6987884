import type { ModelFormat } from '../models/scorer.js';
import type { AliasName, LedgerAction, LedgerEntry, ModelVersion, Violation, ViolationDecision, ViolationStatistic } from './types.js';

/** SQLite rows ↔ the registry's plain objects (JSON columns parsed, snake_case mapped). */
export interface VersionRow {
  model: string;
  version: number;
  artifact_uri: string;
  format: ModelFormat;
  content_hash: string;
  metrics: string;
  dataset_id: string | null;
  reference_profile: string | null;
  trainer: string;
  params: string;
  cost_usd: number;
  workflow_id: string | null;
  run_id: string | null;
  created_at: string;
}

export interface LedgerRow {
  id: number;
  model: string;
  action: LedgerAction;
  from_version: number | null;
  to_version: number | null;
  actor: string;
  reason: string;
  metrics_before: string | null;
  metrics_after: string | null;
  workflow_id: string | null;
  run_id: string | null;
  idempotency_key: string | null;
  at: string;
}

export interface ViolationRow {
  model: string;
  checked_at: string;
  feature: string;
  statistic: ViolationStatistic;
  score: number;
  threshold: number;
  importance_share: number | null;
  champion_version: number | null;
  decision: ViolationDecision;
  decision_reason: string;
  decided_at: string;
}

export function versionFromRow(row: VersionRow, aliases: Map<number, AliasName[]>): ModelVersion {
  return {
    model: row.model,
    version: row.version,
    artifactUri: row.artifact_uri,
    format: row.format,
    contentHash: row.content_hash,
    metrics: JSON.parse(row.metrics),
    datasetId: row.dataset_id,
    referenceProfile: row.reference_profile === null ? null : JSON.parse(row.reference_profile),
    trainer: row.trainer,
    params: JSON.parse(row.params),
    costUsd: row.cost_usd,
    workflowId: row.workflow_id,
    runId: row.run_id,
    createdAt: row.created_at,
    aliases: aliases.get(row.version) ?? [],
  };
}

export function ledgerFromRow(row: LedgerRow): LedgerEntry {
  return {
    id: row.id,
    model: row.model,
    action: row.action,
    fromVersion: row.from_version,
    toVersion: row.to_version,
    actor: row.actor,
    reason: row.reason,
    metricsBefore: row.metrics_before === null ? null : JSON.parse(row.metrics_before),
    metricsAfter: row.metrics_after === null ? null : JSON.parse(row.metrics_after),
    workflowId: row.workflow_id,
    runId: row.run_id,
    idempotencyKey: row.idempotency_key,
    at: row.at,
  };
}

export function violationFromRow(row: ViolationRow): Violation {
  return {
    model: row.model,
    checkedAt: row.checked_at,
    feature: row.feature,
    statistic: row.statistic,
    score: row.score,
    threshold: row.threshold,
    importanceShare: row.importance_share,
    championVersion: row.champion_version,
    decision: row.decision,
    decisionReason: row.decision_reason,
    decidedAt: row.decided_at,
  };
}
