import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { promoteChampion, rollbackChampion, type ChampionStores } from '../../src/backends/champion-moves.js';
import { RegistryError } from '../../src/backends/registry/types.js';
import { ServingError } from '../../src/backends/serving/gateway-client.js';

/**
 * Serving moves first, then the registry (issue 16): the rule the run's promotion, `retrain models
 * register --promote` and `retrain rollback` share. Stand-ins record what each store was told.
 */
function stores(aliases: { champion: number | null; previous: number | null }, servingFails?: Error) {
  const calls: string[] = [];
  const version = (v: number) => ({ model: 'm', version: v, artifactUri: `/a/v${v}` });
  const serving = {
    async deployChampion(_m: string, input: { version: number }) {
      if (servingFails) throw servingFails;
      calls.push(`serving deploys v${input.version}`);
    },
    async promote(_m: string, v: number) {
      if (servingFails) throw servingFails;
      calls.push(`serving promotes challenger v${v}`);
    },
  };
  const registry = {
    aliases: () => ({ ...aliases, challenger: null }),
    getVersion: (_m: string, v: number) => version(v),
    resolve: (_m: string, ref: string) => (ref === 'previous' && aliases.previous !== null ? version(aliases.previous) : undefined),
    promote(_m: string, v: number) {
      calls.push(`registry names v${v}`);
      return { id: 1, toVersion: v };
    },
    rollback() {
      calls.push(`registry names v${aliases.previous}`);
      return { id: 2, toVersion: aliases.previous };
    },
  };
  return { calls, stores: { registry, serving } as unknown as ChampionStores };
}

const ctx = { actor: 'alice', reason: 'test' };

describe('moving the champion', () => {
  it("a run's challenger is promoted on serving, then named in the registry", async () => {
    const s = stores({ champion: 1, previous: null });
    await promoteChampion(s.stores, 'm', 2, ctx, { from: 'challenger', afterServing: () => s.calls.push('(between)') });
    assert.deepEqual(s.calls, ['serving promotes challenger v2', '(between)', 'registry names v2']);
  });

  it('a first champion, a retry that finds it champion already, or a version registered by hand is deployed from its artifact', async () => {
    for (const [aliases, from] of [[{ champion: null, previous: null }, 'challenger'], [{ champion: 2, previous: 1 }, 'challenger'], [{ champion: 1, previous: null }, 'artifact']] as const) {
      const s = stores(aliases);
      await promoteChampion(s.stores, 'm', 2, ctx, { from });
      assert.deepEqual(s.calls, ['serving deploys v2', 'registry names v2']);
    }
  });

  it('serving refusing leaves the registry as it was', async () => {
    const s = stores({ champion: 1, previous: null }, new ServingError('answered 409', 409));
    await assert.rejects(promoteChampion(s.stores, 'm', 2, ctx, { from: 'artifact', registryAnyway: (err) => (err as ServingError).status === 0 }), /409/);
    assert.deepEqual(s.calls, []);
  });

  it('a caller that accepts serving not being there moves the registry and gets the error back', async () => {
    const s = stores({ champion: 1, previous: null }, new ServingError('unreachable', 0));
    const moved = await promoteChampion(s.stores, 'm', 2, ctx, { from: 'artifact', registryAnyway: (err) => (err as ServingError).status === 0 });
    assert.deepEqual(s.calls, ['registry names v2']);
    assert.match((moved.servingError as Error).message, /unreachable/);
  });

  it('a rollback deploys the previous champion, then moves the registry back; with no previous one nothing moves', async () => {
    const s = stores({ champion: 2, previous: 1 });
    const moved = await rollbackChampion(s.stores, 'm', ctx);
    assert.deepEqual(s.calls, ['serving deploys v1', 'registry names v1']);
    assert.equal(moved.champion.version, 1);
    const none = stores({ champion: 1, previous: null });
    await assert.rejects(rollbackChampion(none.stores, 'm', ctx), (err: unknown) => err instanceof RegistryError && err.message === 'm has no previous champion to roll back to');
    assert.deepEqual(none.calls, []);
  });
});
