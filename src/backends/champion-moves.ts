import { RegistryError, type LedgerEntry, type ModelVersion, type MoveContext, type Registry } from './registry/types.js';
import type { ServingBackend } from './serving/gateway-client.js';

/**
 * A model's champion lives in two places: the serving backend answers predictions with it, and the
 * registry's champion alias names it (the ledger, the next run's comparison, `retrain status`).
 * Every move of the champion, a run's promotion (activities/pipeline.ts), `retrain models register
 * --promote` and `retrain rollback`, changes serving first, then the registry: a failure in
 * between leaves the registry naming the old champion, which is what still serves, never a champion
 * nothing serves. Each step can be repeated: serving is told a state (it names the version), and a
 * registry move with the same `ctx.idempotencyKey` returns its first ledger entry.
 */
export interface ChampionStores {
  registry: Registry;
  serving: ServingBackend;
}

export interface MoveOptions {
  /** Runs between the two steps, once serving has moved (the activities' fault points). */
  afterServing?: () => void;
  /**
   * Serving failed with `err`: by default the error goes on and the registry stays as it was; a
   * caller that accepts a serving backend that is not there yet (the CLI, before `retrain dev`)
   * answers true to move the registry all the same, and gets the error back in the result.
   */
  registryAnyway?: (err: unknown) => boolean;
}

export interface ChampionMoved {
  /** The registry's ledger entry for the move. */
  entry: LedgerEntry;
  /** The version that is the champion now. */
  champion: ModelVersion;
  /** Set when serving failed and `registryAnyway` let the registry move without it. */
  servingError?: unknown;
}

/**
 * Where serving takes the new champion from: `challenger`, a run's challenger that serving already
 * carries (promoted there; deployed as champion when the model has no champion yet, or when a retry
 * finds it the champion already); `artifact`, a version serving has never had (a registration by
 * hand), deployed as champion from its artifact.
 */
export type ChampionSource = 'challenger' | 'artifact';

/** Makes `version` the champion: serving, then the registry (with `ctx` in the ledger). */
export async function promoteChampion(stores: ChampionStores, model: string, version: number, ctx: MoveContext, options: MoveOptions & { from: ChampionSource }): Promise<ChampionMoved> {
  const { registry, serving } = stores;
  const target = registry.getVersion(model, version);
  const current = registry.aliases(model).champion;
  const deploy = options.from === 'artifact' || current === null || current === version;
  const servingError = await moveServing(options, () => (deploy ? serving.deployChampion(model, { version, artifactUri: target.artifactUri }) : serving.promote(model, version)));
  const entry = registry.promote(model, version, ctx);
  return { entry, champion: target, ...(servingError === undefined ? {} : { servingError }) };
}

/**
 * Makes the previous champion the champion again: serving, then the registry. Each call moves one
 * step back (so `retrain rollback` twice returns to where it began); a refusal when there is no
 * previous champion is a RegistryError, before anything moves.
 */
export async function rollbackChampion(stores: ChampionStores, model: string, ctx: MoveContext, options: MoveOptions = {}): Promise<ChampionMoved> {
  const { registry, serving } = stores;
  const previous = registry.resolve(model, 'previous');
  if (!previous) throw new RegistryError('invalid_move', `${model} has no previous champion to roll back to`);
  const servingError = await moveServing(options, () => serving.deployChampion(model, { version: previous.version, artifactUri: previous.artifactUri }));
  const entry = registry.rollback(model, ctx);
  return { entry, champion: previous, ...(servingError === undefined ? {} : { servingError }) };
}

/** The serving step: undefined when it moved, its error when the caller lets the registry move without it. */
async function moveServing(options: MoveOptions, move: () => Promise<void>): Promise<unknown> {
  try {
    await move();
  } catch (err) {
    if (!options.registryAnyway?.(err)) throw err;
    return err ?? new Error('serving failed');
  }
  options.afterServing?.();
  return undefined;
}
