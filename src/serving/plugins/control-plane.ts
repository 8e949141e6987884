import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { adminGuard } from '../auth.js';
import type { ServingContext } from '../context.js';
import { describeDeployment } from '../deployment-state.js';
import { invalidRequest, notFound, parseOrThrow } from '../errors.js';
import { awaitReplicas } from '../replica-ack.js';
import { syntheticRoute } from './synthetic.js';

/**
 * /v1/admin/models/:model/{champion, challenger, traffic, promote, rollback, online, deployment, live-metrics,
 * synthetic (pre-traffic checks, see ./synthetic.ts)},
 * behind the bearer token. Bodies are validated with zod; every change is persisted before it
 * takes effect (see Deployments).
 */
const version = z
  .union([z.string().min(1).max(64), z.number().int().nonnegative()], { error: 'expected a version (string or non-negative integer)' })
  .transform(String);
const artifactUri = z.string({ error: 'expected the artifact URI (file:// or a path)' }).min(1);
const sha256 = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, { error: 'expected a sha256 in hex (64 characters)' })
  .optional();
const weight = z.number({ error: 'expected a number from 0 to 100' }).min(0, { error: 'expected 0..100' }).max(100, { error: 'expected 0..100' });
const reason = z.string().max(500).optional();

const championBody = z.object({ version, artifactUri, sha256, reason }).strict();
const challengerBody = z.object({ version, artifactUri, sha256, weight, shadow: z.boolean().default(false), reason }).strict();
const trafficBody = z.object({ weight, reason }).strict();
const promoteBody = z.object({ version: version.optional(), reason }).strict();
const rollbackBody = z.object({ to: z.literal('previous', { error: 'expected "previous" (or omit `to` to remove the challenger)' }).optional(), reason }).strict();

interface ModelParams {
  model: string;
}

export async function controlPlane(app: FastifyInstance, opts: { ctx: ServingContext }): Promise<void> {
  const { ctx } = opts;
  const check = adminGuard(ctx.adminToken);

  app.addHook('onRequest', async (request, reply) => {
    try {
      check(request.headers.authorization);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 401) reply.header('www-authenticate', 'Bearer realm="retrain-admin"');
      throw err;
    }
  });

  const known = (model: string) => {
    if (!ctx.models.has(model)) throw notFound(`unknown model "${model}" (served: ${[...ctx.models.keys()].join(', ')})`);
  };
  const view = (model: string) => ({ ...describeDeployment(model, ctx.deployments.get(model), ctx.deployments.restoreErrors.get(model)) });
  // A change is answered once every live replica of a shared store serves it, or with the ones that do not.
  const changed = async (model: string) => {
    const replicas = await awaitReplicas(ctx.store, model);
    return replicas ? { ...view(model), replicas } : view(model);
  };

  app.put<{ Params: ModelParams }>('/models/:model/champion', async (request) => {
    const { model } = request.params;
    known(model);
    const body = parseOrThrow(championBody, request.body ?? {});
    await ctx.deployments.setChampion(model, body);
    return changed(model);
  });

  app.put<{ Params: ModelParams }>('/models/:model/challenger', async (request) => {
    const { model } = request.params;
    known(model);
    const body = parseOrThrow(challengerBody, request.body ?? {});
    await ctx.deployments.setChallenger(model, body);
    return changed(model);
  });

  app.put<{ Params: ModelParams }>('/models/:model/traffic', async (request) => {
    const { model } = request.params;
    known(model);
    const body = parseOrThrow(trafficBody, request.body ?? {});
    await ctx.deployments.setTraffic(model, body.weight);
    return changed(model);
  });

  app.post<{ Params: ModelParams }>('/models/:model/promote', async (request) => {
    const { model } = request.params;
    known(model);
    const body = parseOrThrow(promoteBody, request.body ?? {});
    await ctx.deployments.promote(model, body.version);
    return changed(model);
  });

  app.post<{ Params: ModelParams }>('/models/:model/rollback', async (request) => {
    const { model } = request.params;
    known(model);
    const body = parseOrThrow(rollbackBody, request.body ?? {});
    await ctx.deployments.rollback(model, body.to);
    return changed(model);
  });

  // The online learner's pushes (learning: online | hybrid) and a frozen learner's reset.
  app.put<{ Params: ModelParams }>('/models/:model/online', async (request) => {
    const { model } = request.params;
    known(model);
    const body = parseOrThrow(championBody, request.body ?? {});
    await ctx.deployments.setOnline(model, body);
    return changed(model);
  });

  app.delete<{ Params: ModelParams }>('/models/:model/online', async (request) => {
    const { model } = request.params;
    known(model);
    await ctx.deployments.clearOnline(model);
    return changed(model);
  });

  app.get<{ Params: ModelParams }>('/models/:model/deployment', async (request) => {
    const { model } = request.params;
    known(model);
    return { ...view(model), events: ctx.store.events(model, 20) };
  });

  syntheticRoute(app, ctx);

  app.get<{ Params: ModelParams; Querystring: { since?: string } }>('/models/:model/live-metrics', async (request) => {
    const { model } = request.params;
    known(model);
    const now = Date.now();
    const since = request.query.since === undefined ? now - 3_600_000 : Date.parse(request.query.since);
    if (!Number.isFinite(since)) throw invalidRequest([{ path: 'since', message: `expected an ISO-8601 time, got ${JSON.stringify(request.query.since)}` }]);
    const rt = ctx.models.get(model)!;
    const dep = ctx.deployments.get(model);
    const byVariant = rt.live.snapshot(since, now);
    return {
      model,
      since: new Date(since).toISOString(),
      until: new Date(now).toISOString(),
      deployment: {
        champion: dep?.champion?.version ?? null,
        challenger: dep?.challenger?.version ?? null,
        weight: dep?.challenger?.weight ?? 0,
        shadow: dep?.challenger?.shadow ?? false,
      },
      ...byVariant,
      resolution: {
        note: 'counts include every time bucket overlapping [since, until]; labels count toward the bucket of the prediction they judge',
        recentBucketMs: ctx.liveOptions.fineMs,
        recentWindowMs: ctx.liveOptions.fineRetentionMs,
        olderBucketMs: ctx.liveOptions.coarseMs,
        retentionMs: ctx.liveOptions.retentionMs,
      },
      feedbackIndex: { entries: rt.index.size, capacity: rt.index.capacity, maxAgeMs: rt.index.maxAgeMs },
    };
  });
}
