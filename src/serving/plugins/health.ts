import type { FastifyInstance } from 'fastify';
import type { ServingContext } from '../context.js';

/**
 * /healthz: the process answers. /readyz: every configured model has a loaded champion and the
 * lake writer's last write succeeded (503 with the reasons otherwise, and while shutting down).
 * /metrics: Prometheus text.
 */
export async function healthPlugin(app: FastifyInstance, opts: { ctx: ServingContext }): Promise<void> {
  const { ctx } = opts;

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const problems: string[] = [];
    const models: Record<string, unknown> = {};
    for (const name of ctx.models.keys()) {
      const dep = ctx.deployments.get(name);
      const errors = ctx.deployments.restoreErrors.get(name);
      models[name] = {
        champion: dep?.champion?.version ?? null,
        challenger: dep?.challenger?.version ?? null,
        ...(errors ? { errors } : {}),
      };
      if (!dep?.champion) problems.push(`${name}: no champion loaded${errors ? ` (${errors.join('; ')})` : ''}`);
    }
    const lakeHealthy = ctx.lakeLog.healthy();
    if (!lakeHealthy) problems.push(`lake writer: last write failed (${ctx.lakeLog.lastError ?? 'unknown error'}); retrying`);
    if (ctx.closing) problems.push('shutting down');
    const ready = problems.length === 0;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', ...(ready ? {} : { message: problems.join('; '), problems }), models, lake: { healthy: lakeHealthy } });
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
}
