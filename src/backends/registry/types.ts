import type { LoadModelOptions } from '../models/load.js';
import type { LoadedModel, ModelFormat } from '../models/scorer.js';

/** Metric values by name (null where undefined), as trainers and evaluation report them. */
export type MetricValues = Record<string, number | null>;

export const ALIASES = ['champion', 'challenger', 'previous'] as const;
export type AliasName = (typeof ALIASES)[number];

export const LEDGER_ACTIONS = ['promote', 'rollback', 'register_challenger', 'clear_challenger'] as const;
export type LedgerAction = (typeof LEDGER_ACTIONS)[number];

export interface ModelVersion {
  model: string;
  version: number;
  artifactUri: string;
  format: ModelFormat;
  /** sha256 (hex) of the artifact file, checked whenever the artifact is loaded through the registry. */
  contentHash: string;
  metrics: MetricValues;
  datasetId: string | null;
  /** Opaque reference profile (drift module) stored with the version. */
  referenceProfile: unknown;
  trainer: string;
  params: Record<string, unknown>;
  costUsd: number;
  workflowId: string | null;
  runId: string | null;
  createdAt: string;
  /** Aliases currently pointing at this version. */
  aliases: AliasName[];
}

export interface RegisterVersionInput {
  model: string;
  /** file:// URI or path of model.json / model.onnx (or the directory holding one). */
  artifactUri: string;
  /** If given, must equal the artifact's sha256 (guards against a file swapped since training). */
  contentHash?: string;
  metrics: MetricValues;
  datasetId?: string;
  referenceProfile?: unknown;
  trainer: string;
  params?: Record<string, unknown>;
  costUsd?: number;
  workflowId?: string;
  runId?: string;
  /** Workflow run id + activity id: registering the same key again returns the same version. */
  idempotencyKey?: string;
  /** When the version was trained, for one trained outside the product (default: now); never in the future. */
  createdAt?: Date;
}

/** Who moves an alias and why; recorded in the ledger with the move. */
export interface MoveContext {
  actor: string;
  reason: string;
  workflowId?: string;
  runId?: string;
  /** A repeated move with the same key returns the first ledger entry and changes nothing. */
  idempotencyKey?: string;
  /** Metrics to record instead of the versions' registered ones (e.g. fresh holdout numbers). */
  metricsBefore?: MetricValues;
  metricsAfter?: MetricValues;
}

/** A version by number within the target model, or by (model, version) to catch cross-model mix-ups. */
export type VersionRef = number | { model: string; version: number };

export interface LedgerEntry {
  id: number;
  model: string;
  action: LedgerAction;
  fromVersion: number | null;
  toVersion: number | null;
  actor: string;
  reason: string;
  metricsBefore: MetricValues | null;
  metricsAfter: MetricValues | null;
  workflowId: string | null;
  runId: string | null;
  idempotencyKey: string | null;
  at: string;
}

export interface SpendInput {
  idempotencyKey: string;
  workflowId?: string;
  runId?: string;
  note?: string;
  /** When the money was spent (default now); decides the month. */
  at?: Date;
}

export interface ModelSummary {
  model: string;
  versionCount: number;
  latestVersion: number;
  champion: number | null;
  challenger: number | null;
  previous: number | null;
  lastChangeAt: string | null;
}

/** What a violation is measured with: the drift module's statistics and the data-quality checks. */
export const VIOLATION_STATISTICS = ['psi', 'ks', 'wasserstein', 'jensen_shannon', 'chi_square', 'missing_rate', 'out_of_range', 'unseen_categories', 'mean_shift'] as const;
export type ViolationStatistic = (typeof VIOLATION_STATISTICS)[number];

/**
 * What happened because of a check's violations. The check records its own verdict
 * (`retrain_warranted` when the drift is material under the drift policy, else `reported_only`);
 * the monitor's start activity later settles it to `retrain_started` or `held` (a pipeline was
 * already running). Holds by cooldown or back-off are decided in the workflow, so they keep the
 * check's verdict.
 */
export const VIOLATION_DECISIONS = ['reported_only', 'retrain_warranted', 'retrain_started', 'held'] as const;
export type ViolationDecision = (typeof VIOLATION_DECISIONS)[number];

/** One drifted feature of one check, as the check measured it. */
export interface ViolationInput {
  feature: string;
  statistic: ViolationStatistic;
  score: number;
  threshold: number;
  /** The feature's share of the model's importance, when the champion's profile has one. */
  importanceShare?: number | null;
  championVersion?: number | null;
  decision: ViolationDecision;
  decisionReason: string;
}

export interface Violation extends Required<ViolationInput> {
  model: string;
  checkedAt: string;
  /** When the decision was last set (the check, or the start that settled it). */
  decidedAt: string;
}

export interface ViolationQuery {
  model: string;
  feature?: string;
  /** Checks at or after this time. */
  since?: Date;
  /** Checks at or before this time. */
  until?: Date;
  limit?: number;
}

/** How often one feature drifted in a window: distinct UTC days with a violation, and checks. */
export interface FeatureRecurrence {
  feature: string;
  days: number;
  checks: number;
  firstAt: string;
  lastAt: string;
  statistics: ViolationStatistic[];
}

export type RegistryErrorCode =
  | 'unknown_model'
  | 'unknown_version'
  | 'artifact_missing'
  | 'hash_mismatch'
  | 'cross_model'
  | 'invalid_move'
  | 'idempotency_conflict'
  | 'invalid_input'
  | 'schema_too_new';

/** Refusals from the registry; `code` lets activities map them to non-retryable failures. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface Registry {
  registerVersion(input: RegisterVersionInput): Promise<ModelVersion>;
  getVersion(model: string, version: number): ModelVersion;
  /** A version by number or alias ("champion", "3"); undefined when an alias is unset (also for a model with no versions yet). */
  resolve(model: string, ref: AliasName | number | string): ModelVersion | undefined;
  listVersions(model: string): ModelVersion[];
  listModels(): ModelSummary[];
  aliases(model: string): Record<AliasName, number | null>;
  /** Recomputes the artifact's sha256 and refuses a mismatch or a missing file; returns the artifact path. */
  verifyArtifact(model: string, version: number): Promise<string>;
  /** Loads a version (by number or alias) for scoring after verifying its artifact hash. */
  loadVersion(model: string, ref: AliasName | number, options?: { spec?: LoadModelOptions['spec'] }): Promise<LoadedModel>;

  promote(model: string, version: VersionRef, ctx: MoveContext): LedgerEntry;
  rollback(model: string, ctx: MoveContext): LedgerEntry;
  registerChallenger(model: string, version: VersionRef, ctx: MoveContext): LedgerEntry;
  clearChallenger(model: string, ctx: MoveContext): LedgerEntry;
  /** Chronological; with `newest`, `limit` keeps the most recent entries instead of the oldest. */
  ledger(query?: { model?: string; limit?: number; afterId?: number; newest?: boolean }): LedgerEntry[];

  /** Records spend once per idempotency key; `recorded` is false for a repeat. */
  recordSpend(model: string, costUsd: number, input: SpendInput): { recorded: boolean; id: number };
  /** Total spend in a UTC month ("2025-03" or any Date in it), for one model or all. */
  monthlySpend(model: string | undefined, month: string | Date): number;

  /** Keeps a model spec revision (idempotent): runs started under it can finish after the YAML changes. */
  rememberConfigRevision(model: string, revision: string, spec: unknown): void;
  /** A revision kept earlier, as stored; undefined when this registry never saw it. */
  configRevision(model: string, revision: string): unknown;

  /** State a monitor keeps between checks (JSON), by model and name; undefined when none was saved. */
  monitorState(model: string, name: string): unknown;
  saveMonitorState(model: string, name: string, state: unknown): void;

  /** Records a check's violations once per (model, check time, feature, statistic): a retried check records nothing new. */
  recordViolations(model: string, checkedAt: Date | string, violations: ViolationInput[]): { recorded: number };
  /**
   * Settles the decision of a check's violations once the monitor acted on it; only the check's own
   * verdicts are replaced, so a retried start cannot overwrite what the first attempt recorded.
   */
  settleViolations(model: string, checkedAt: Date | string, decision: 'retrain_started' | 'held', reason: string): { settled: number };
  /** Violations, newest check first (then by feature). */
  violations(query: ViolationQuery): Violation[];
  /** Per feature (most days first): distinct UTC days with a violation between `since` and `until`. */
  violationRecurrence(query: ViolationQuery & { since: Date }): FeatureRecurrence[];

  close(): void;
}
