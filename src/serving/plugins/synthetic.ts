import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ServingContext } from '../context.js';
import { conflict, HttpError, notFound, parseOrThrow } from '../errors.js';
import type { SyntheticAnswer } from '../../domain/pre-traffic.js';
import { MAX_INSTANCES, parsePredictBody } from '../validation.js';

/**
 * POST /v1/admin/models/:model/synthetic (control plane: behind the admin token): scores synthetic
 * requests with one named variant, never through the traffic split, for the pre-traffic checks.
 *
 * Each instance is validated on its own with the model's request schema (a refused row does not
 * refuse the others) and scored alone through the variant's scorer, the path live requests take;
 * its latency is its own validation and scoring. A row slower than `retimeAboveMs` is scored once
 * more and keeps the faster time: a stall of the host (a GC pause, a loaded machine) shows once, a
 * slow model every time. Nothing of it is live traffic: no lake row
 * (predictions, serving_errors), no feedback index entry, no live or Prometheus metric, so the
 * canary's evidence, the monitors and the dashboards never see a synthetic row. One log line
 * says what was scored.
 *
 * Answers, in request order: `{outcome: "scored", prediction, score, latencyMs}` (a non-finite
 * number as the string "NaN", "Infinity" or "-Infinity": JSON has no such numbers),
 * `{outcome: "error", message, latencyMs}` (the scorer threw), or `{outcome: "refused", status,
 * error, message}` (the schema's 400/422, as predict would answer).
 */
const version = z
  .union([z.string().min(1).max(64), z.number().int().nonnegative()], { error: 'expected a version (string or non-negative integer)' })
  .transform(String);

export const syntheticBody = z
  .object({
    variant: z.enum(['champion', 'challenger'], { error: 'expected the variant to score: champion or challenger' }),
    version: version.describe('The version the variant must be; another version deployed is a 409, so a check never scores the wrong model.'),
    instances: z
      .array(z.unknown(), { error: 'expected instances: a list of {features} objects' })
      .min(1, { error: 'expected at least one instance' })
      .max(MAX_INSTANCES, { error: `expected at most ${MAX_INSTANCES} instances per request; split the rows` }),
    retimeAboveMs: z.number({ error: 'expected a latency in milliseconds above 0' }).positive({ error: 'expected a latency in milliseconds above 0' }).optional(),
  })
  .strict();

interface ModelParams {
  model: string;
}

const numberOrName = (x: number) => (Number.isFinite(x) ? x : String(x));

export function syntheticRoute(app: FastifyInstance, ctx: ServingContext): void {
  app.post<{ Params: ModelParams }>('/models/:model/synthetic', async (request) => {
    const { model } = request.params;
    const rt = ctx.models.get(model);
    if (!rt) throw notFound(`unknown model "${model}" (served: ${[...ctx.models.keys()].join(', ')})`);
    const body = parseOrThrow(syntheticBody, request.body ?? {});
    const role = ctx.deployments.get(model)?.[body.variant];
    if (!role) throw conflict(`${model} has no ${body.variant} deployed to score synthetic requests with`);
    if (role.version !== body.version) throw conflict(`${model}: the ${body.variant} is v${role.version}, not v${body.version}`);

    const answers: SyntheticAnswer[] = [];
    let refused = 0;
    let errors = 0;
    for (const instance of body.instances) {
      const started = performance.now();
      let features;
      try {
        const parsed = parsePredictBody(rt.schemas, instance);
        if (parsed.batch) throw new HttpError(400, 'invalid_request', 'a synthetic instance is one {features} object, not a batch');
        features = parsed.instances[0].features;
      } catch (err) {
        const e = err instanceof HttpError ? err : new HttpError(400, 'invalid_request', (err as Error).message);
        answers.push({ outcome: 'refused', status: e.statusCode, error: e.code, message: e.message });
        refused++;
        continue;
      }
      try {
        const [p] = await role.scorer.score([features]);
        let latencyMs = performance.now() - started;
        if (body.retimeAboveMs !== undefined && latencyMs > body.retimeAboveMs) {
          const again = performance.now();
          await role.scorer.score([features]);
          latencyMs = Math.min(latencyMs, performance.now() - again);
        }
        answers.push({ outcome: 'scored', prediction: numberOrName(p.prediction), score: numberOrName(p.score), latencyMs: round3(latencyMs) });
      } catch (err) {
        answers.push({ outcome: 'error', message: (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300), latencyMs: round3(performance.now() - started) });
        errors++;
      }
    }
    ctx.log.info({ model, variant: body.variant, version: role.version, rows: answers.length, refused, errors }, 'scored synthetic requests (not live traffic: nothing logged to the lake)');
    return { model, variant: body.variant, version: role.version, answers };
  });
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
