import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Prediction } from '../../backends/models/index.js';
import type { ModelRuntime, ServingContext } from '../context.js';
import type { LoadedRole } from '../deployments.js';
import { formatPath, HttpError, nonFiniteScore, notFound, type FieldIssue } from '../errors.js';
import { errorTuple, labelTuple, predictionTuple } from '../lake-sink.js';
import { inChallengerShare } from '../routing.js';
import { parseFeedbackBody, parsePredictBody, type FeatureValues, type PredictInstance } from '../validation.js';

/**
 * POST /v1/models/:model/predict and /feedback.
 *
 * predict: validate → route each instance (sticky split) → score each variant's rows through the
 * model backend's scorer (coalesced per event-loop turn, see scoring.ts) → reply. Each prediction
 * is queued for the lake as a row tuple and indexed for feedback. Shadow scoring starts after the
 * reply is written (setImmediate), so it adds no latency to the response; its own latency is
 * measured and reported as `shadow`. A batch reply is `{predictions: [...]}` in request order.
 *
 * Latency per variant: a row's `latency_ms` (logged, in the live metrics and the histogram) is the
 * time shared by the whole request up to the first scorer call (parsing, validation, routing) plus
 * the duration of its own variant's scorer call, so in a mixed batch a slow challenger does not
 * show up in the champion's latency, nor the champion's in the challenger's.
 *
 * A prediction or score that is not a finite number (extreme inputs overflow a linear model) is
 * an error of that request alone: 422 naming the features whose values cause it, nothing logged,
 * so the lake never receives a row it must refuse. Model failures are logged as serving_errors
 * rows (one per affected row, with the variant's version and a one-line reason), so error rates
 * can be read from the lake: a scorer that throws (the champion's is the request's 500; a
 * challenger's rows are answered by the champion), a challenger's non-finite answer (answered by
 * the champion), a shadow's failure or non-finite answer. Requests refused for their input (4xx)
 * are not model errors and log nothing.
 *
 * feedback: with a feedback token (RETRAIN_FEEDBACK_TOKEN) it needs `Authorization: Bearer
 * <token>`, compared in constant time; each client address may send `feedbackPerMinute` requests
 * a minute (@fastify/rate-limit, 429 beyond). predict is not rate-limited.
 */
export interface DataPlaneOptions {
  ctx: ServingContext;
  /** When set, POST feedback requires this bearer token. */
  feedbackToken?: string;
  /** Feedback requests per client address per minute; 0 = unlimited. */
  feedbackPerMinute: number;
}

interface ModelParams {
  model: string;
}

interface Routed {
  instance: PredictInstance;
  requestId: string;
  variant: 'champion' | 'challenger';
  shadow: boolean;
}

export async function dataPlane(app: FastifyInstance, opts: DataPlaneOptions): Promise<void> {
  const { ctx } = opts;
  await app.register(rateLimit, { global: false });
  const feedbackGuards = [];
  if (opts.feedbackPerMinute > 0) {
    feedbackGuards.push(
      app.rateLimit({
        max: opts.feedbackPerMinute,
        timeWindow: 60_000,
        errorResponseBuilder: (_request, context) =>
          new HttpError(429, 'rate_limited', `too many feedback requests from this client: at most ${context.max} a minute; retry in ${context.after} (send labels in batches of up to 1,000)`),
      }),
    );
  }
  if (opts.feedbackToken) feedbackGuards.push(bearerGuard(opts.feedbackToken));

  const runtimeOf = (model: string): ModelRuntime => {
    const rt = ctx.models.get(model);
    if (!rt) throw notFound(`unknown model "${model}" (served: ${[...ctx.models.keys()].join(', ')})`);
    return rt;
  };

  app.post<{ Params: ModelParams }>('/v1/models/:model/predict', async (request, reply) => {
    const started = performance.now();
    const tsMs = Date.now();
    const model = request.params.model;
    const rt = runtimeOf(model);
    let parsed: ReturnType<typeof parsePredictBody>;
    try {
      parsed = parsePredictBody(rt.schemas, request.body);
    } catch (err) {
      ctx.metrics.request(model, 'none', (err as HttpError).statusCode ?? 400);
      throw err;
    }
    const dep = ctx.deployments.get(model);
    // learning: online | hybrid answers the champion's share with its online copy (or the blend).
    const champion = dep?.learned ?? dep?.champion;
    if (!champion || !dep) {
      ctx.metrics.request(model, 'none', 503);
      throw new HttpError(503, 'no_champion', `${model} has no champion deployed; PUT /v1/admin/models/${model}/champion`);
    }
    const challenger = dep.challenger;

    const routed: Routed[] = new Array(parsed.instances.length);
    let challengerCount = 0;
    let shadowCount = 0;
    for (let i = 0; i < routed.length; i++) {
      const instance = parsed.instances[i];
      const requestId = randomUUID();
      let share = false;
      if (challenger && challenger.weight > 0) {
        const byFeature = rt.entityFeature ? instance.features[rt.entityFeature] : undefined;
        const key = instance.entity_id ?? (byFeature == null ? requestId : String(byFeature));
        share = inChallengerShare(model, key, challenger.weight);
      }
      const live = share && !challenger!.shadow;
      if (live) challengerCount++;
      if (share && challenger!.shadow) shadowCount++;
      routed[i] = { instance, requestId, variant: live ? 'challenger' : 'champion', shadow: share && challenger!.shadow };
    }

    // Shared by every row: parsing, validation and routing, up to the first scorer call.
    const overheadMs = performance.now() - started;
    const results: (Prediction | undefined)[] = new Array(routed.length);
    let challengerMs = 0;
    if (challengerCount > 0) {
      const scored = await scoreGroup(ctx, rt, challenger!, 'challenger', routed, results, tsMs, overheadMs).catch(() => undefined);
      // A failing challenger must not fail the caller: its rows fall back to the champion (the
      // errors are counted and logged against the challenger, which is what the rollout analysis watches).
      if (scored === undefined) {
        for (const r of routed) r.variant = 'champion';
        challengerCount = 0;
      } else {
        challengerMs = scored;
        const latencyMs = overheadMs + challengerMs;
        for (let i = 0; i < routed.length; i++) {
          const p = results[i]!;
          if (routed[i].variant !== 'challenger' || finitePrediction(p)) continue;
          rt.live.recordRequest('challenger', tsMs, latencyMs, true);
          ctx.metrics.request(model, 'challenger', 500);
          ctx.lakeLog.append('serving_errors', model, errorTuple(routed[i].requestId, tsMs, challenger!.version, 'challenger', round3(latencyMs), nonFiniteReason(p)));
          routed[i].variant = 'champion';
          results[i] = undefined;
          challengerCount--;
        }
      }
    }
    const championMs = await scoreGroup(ctx, rt, champion, 'champion', routed, results, tsMs, overheadMs);
    const nonFinite: number[] = [];
    for (let i = 0; i < routed.length; i++) if (!finitePrediction(results[i]!)) nonFinite.push(i);
    if (nonFinite.length > 0) {
      ctx.metrics.request(model, 'none', 422);
      throw nonFiniteScore(await explainNonFinite(rt, champion, routed, results as Prediction[], nonFinite, parsed.batch));
    }
    const championLatencyMs = overheadMs + championMs;
    const challengerLatencyMs = overheadMs + challengerMs;
    const championLogged = round3(championLatencyMs);
    const challengerLogged = round3(challengerLatencyMs);

    const out: string[] = new Array(routed.length);
    for (let i = 0; i < routed.length; i++) {
      const r = routed[i];
      const isChampion = r.variant === 'champion';
      const role = isChampion ? champion : challenger!;
      const p = results[i]!;
      out[i] = responseJson(r.requestId, p, role.versionJson, r.variant, rt.classJson);
      const entity = r.instance.entity_id ?? null;
      ctx.lakeLog.append(
        'predictions',
        model,
        predictionTuple(r.requestId, tsMs, role.version, r.variant, entity, p.prediction, p.score, isChampion ? championLogged : challengerLogged, r.instance.features, rt.featureNames),
      );
      rt.index.add(r.requestId, r.variant, p.prediction, tsMs);
      rt.live.recordRequest(r.variant, tsMs, isChampion ? championLatencyMs : challengerLatencyMs, false);
    }
    const served = routed.length - challengerCount;
    if (served) {
      ctx.metrics.request(model, 'champion', 200, served);
      ctx.metrics.observeLatency(model, 'champion', championLatencyMs);
    }
    if (challengerCount) {
      ctx.metrics.request(model, 'challenger', 200, challengerCount);
      ctx.metrics.observeLatency(model, 'challenger', challengerLatencyMs);
    }
    if (shadowCount > 0) {
      const shadowRows = routed.filter((r) => r.shadow);
      setImmediate(() => track(ctx, scoreShadow(ctx, rt, challenger!, shadowRows, tsMs)));
    }
    // The rows reach the journal file (the page cache survives a kill) before the answer leaves.
    ctx.journal?.flush();
    // Built by hand: five known fields, cheaper than generic serialisation on every request.
    reply.type('application/json; charset=utf-8');
    return parsed.batch ? `{"predictions":[${out.join(',')}]}` : out[0];
  });

  app.post<{ Params: ModelParams }>('/v1/models/:model/feedback', { onRequest: feedbackGuards }, async (request, reply) => {
    const model = request.params.model;
    const rt = runtimeOf(model);
    const items = parseFeedbackBody(rt.schemas, request.body);
    const now = Date.now();
    let matched = 0;
    for (const item of items) {
      const joined = rt.index.join(item.request_id, item.label, rt.spec.task, now);
      if (joined) {
        matched++;
        rt.live.recordLabel(joined.variant, joined.tsMs, joined.outcome, joined.previous);
        if (joined.shadow) rt.live.recordLabel('shadow', joined.tsMs, joined.shadow.outcome, joined.shadow.previous);
      }
      ctx.lakeLog.append('labels', model, labelTuple(item.request_id, item.label, now));
    }
    ctx.journal?.flush();
    const unmatched = items.length - matched;
    ctx.metrics.feedbackReceived(model, matched, unmatched);
    // 202: the labels are journaled and queued for the lake (written within the batch bounds).
    return reply.code(202).send({ accepted: items.length, matched, unmatched });
  });
}

/**
 * Scores the rows routed to one variant in a single scorer call and returns the call's duration
 * (ms). A scorer failure is a 500 counted against that variant, each of its rows logged as a
 * serving error with latency `overheadMs` + the time the failed call took.
 */
async function scoreGroup(
  ctx: ServingContext,
  rt: ModelRuntime,
  role: LoadedRole,
  variant: 'champion' | 'challenger',
  routed: Routed[],
  results: (Prediction | undefined)[],
  tsMs: number,
  overheadMs: number,
): Promise<number> {
  const at: number[] = [];
  const rows = [];
  for (let i = 0; i < routed.length; i++) {
    if (routed[i].variant !== variant || results[i] !== undefined) continue;
    at.push(i);
    rows.push(routed[i].instance.features);
  }
  const count = at.length;
  if (count === 0) return 0;
  const scoringStarted = performance.now();
  let predictions: Prediction[];
  try {
    predictions = await role.scorer.score(rows);
  } catch (err) {
    const model = rt.spec.name;
    const latencyMs = overheadMs + (performance.now() - scoringStarted);
    const reason = `scorer failed: ${errorMessage(err)}`;
    for (let k = 0; k < count; k++) {
      rt.live.recordRequest(variant, tsMs, latencyMs, true);
      ctx.lakeLog.append('serving_errors', model, errorTuple(routed[at[k]].requestId, tsMs, role.version, variant, round3(latencyMs), reason));
    }
    // The request may end here (a champion failure is its 500): the error rows are journaled first.
    ctx.journal?.flush();
    ctx.metrics.request(model, variant, 500, count);
    ctx.log.error({ err, model, variant, version: role.version }, 'scoring failed');
    throw new HttpError(500, 'scoring_failed', `${variant} ${model} v${role.version} failed to score: ${errorMessage(err)}`);
  }
  const durationMs = performance.now() - scoringStarted;
  for (let k = 0; k < at.length; k++) results[at[k]] = predictions[k];
  return durationMs;
}

async function scoreShadow(ctx: ServingContext, rt: ModelRuntime, role: LoadedRole, rows: Routed[], tsMs: number): Promise<void> {
  const model = rt.spec.name;
  const started = performance.now();
  let predictions: Prediction[];
  try {
    predictions = await role.scorer.score(rows.map((r) => r.instance.features));
  } catch (err) {
    const latencyMs = performance.now() - started;
    const reason = `scorer failed: ${errorMessage(err)}`;
    for (const r of rows) {
      rt.live.recordRequest('shadow', tsMs, latencyMs, true);
      ctx.lakeLog.append('serving_errors', model, errorTuple(r.requestId, tsMs, role.version, 'shadow', round3(latencyMs), reason));
    }
    ctx.journal?.flush();
    ctx.metrics.request(model, 'shadow', 500, rows.length);
    ctx.log.error({ err, model, version: role.version }, 'shadow scoring failed');
    return;
  }
  const latencyMs = performance.now() - started;
  let failed = 0;
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k];
    const p = predictions[k];
    if (!finitePrediction(p)) {
      // Not a prediction row the lake can store; an error of the shadow version, which the champion did not share.
      rt.live.recordRequest('shadow', tsMs, latencyMs, true);
      ctx.lakeLog.append('serving_errors', model, errorTuple(r.requestId, tsMs, role.version, 'shadow', round3(latencyMs), nonFiniteReason(p)));
      failed++;
      continue;
    }
    // The shadow row shares its request's id, so feedback joins both in the lake too.
    ctx.lakeLog.append('predictions', model, predictionTuple(r.requestId, tsMs, role.version, 'shadow', r.instance.entity_id ?? null, p.prediction, p.score, round3(latencyMs), r.instance.features, rt.featureNames));
    rt.index.addShadow(r.requestId, predictions[k].prediction);
    rt.live.recordRequest('shadow', tsMs, latencyMs, false);
  }
  ctx.journal?.flush();
  if (failed) ctx.metrics.request(model, 'shadow', 500, failed);
  if (rows.length > failed) ctx.metrics.request(model, 'shadow', 200, rows.length - failed);
  ctx.metrics.observeLatency(model, 'shadow', latencyMs);
}

function finitePrediction(p: Prediction): boolean {
  return Number.isFinite(p.score) && Number.isFinite(p.prediction);
}

function nonFiniteReason(p: Prediction): string {
  return Number.isFinite(p.score) ? `non-finite prediction: ${String(p.prediction)}` : `non-finite score: ${String(p.score)}`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Rows of one request whose causes are looked for (each costs one scorer row per numerical feature). */
const EXPLAINED_ROWS = 5;

/**
 * Which features make a row's answer non-finite: each numerical value in turn is replaced by null
 * (the model's imputed value) and the row scored again, all in one scorer call; a feature whose
 * replacement gives a finite answer is named. Model-agnostic, and only on this error path.
 */
async function explainNonFinite(rt: ModelRuntime, role: LoadedRole, routed: Routed[], results: Prediction[], rows: number[], batch: boolean): Promise<FieldIssue[]> {
  const numerical = rt.spec.features.filter((f) => f.type === 'numerical').map((f) => f.name);
  const trials: { row: number; feature: string }[] = [];
  const variants: FeatureValues[] = [];
  for (const i of rows.slice(0, EXPLAINED_ROWS)) {
    const features = routed[i].instance.features;
    for (const name of numerical) {
      if (features[name] === null) continue;
      trials.push({ row: i, feature: name });
      variants.push({ ...features, [name]: null });
    }
  }
  let rescored: Prediction[] = [];
  if (variants.length > 0) rescored = await role.scorer.score(variants).catch(() => []);
  const issues: FieldIssue[] = [];
  for (const i of rows) {
    const prefix: (string | number)[] = batch ? ['instances', i] : [];
    const what = `the model's ${Number.isFinite(results[i].score) ? 'prediction' : 'score'} is ${String(Number.isFinite(results[i].score) ? results[i].prediction : results[i].score)}`;
    const causes = trials.flatMap((t, k) => (t.row === i && rescored[k] && finitePrediction(rescored[k]) ? [t.feature] : []));
    if (causes.length === 0) {
      issues.push({ path: formatPath(prefix), message: `${what} for these inputs (no single feature value is the cause)` });
      continue;
    }
    for (const name of causes) {
      const value = routed[i].instance.features[name];
      issues.push({
        path: formatPath([...prefix, 'features', name]),
        message: `${what}: the value ${String(value)} is too extreme for the model (it scores once this value is left out); send a value in the range the model was trained on`,
      });
    }
  }
  return issues;
}

/** Bearer check of the feedback endpoint; both sides hashed so the comparison takes the same time whatever is sent. */
function bearerGuard(token: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const expected = digest(token);
  return async (request, reply) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? '');
    if (match && timingSafeEqual(digest(match[1]), expected)) return;
    reply.header('www-authenticate', 'Bearer realm="retrain-feedback"');
    throw new HttpError(401, 'unauthorized', match ? 'invalid feedback token' : 'missing bearer token: send "Authorization: Bearer <RETRAIN_FEEDBACK_TOKEN>"');
  };
}

function track(ctx: ServingContext, work: Promise<void>): void {
  ctx.background.add(work);
  void work.finally(() => ctx.background.delete(work));
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const num = (x: number) => (Number.isFinite(x) ? String(x) : 'null');

/**
 * One answer. Multiclass adds the predicted class's name and every class's probability by name:
 * `"prediction":2,"class":"virginica","score":0.81,"probabilities":{"setosa":0.04,...}` (prediction
 * is the class index, the label feedback sends; score the predicted class's probability).
 */
function responseJson(requestId: string, p: Prediction, versionJson: string, variant: string, classJson?: string[]): string {
  const classes = classJson && p.probabilities ? `,"class":${classJson[p.prediction] ?? 'null'},"probabilities":{${p.probabilities.map((q, c) => `${classJson[c]}:${num(q)}`).join(',')}}` : '';
  return `{"request_id":"${requestId}","prediction":${num(p.prediction)}${classes},"score":${num(p.score)},"model_version":${versionJson},"variant":"${variant}"}`;
}
