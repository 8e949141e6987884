import type { FastifyError, FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { Logger } from '../runtime/logger.js';

/** One bad field of a request: where (`instances[3].features.amount`) and what was expected. */
export interface FieldIssue {
  path: string;
  message: string;
}

/**
 * An error with an HTTP status and a message written for the caller. Every 4xx the gateway
 * returns has the shape `{error, message, issues?}`, so clients (and the property test) can rely
 * on a message being there.
 */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly issues?: FieldIssue[],
  ) {
    super(message);
  }
}

export const notFound = (message: string) => new HttpError(404, 'not_found', message);
export const conflict = (message: string) => new HttpError(409, 'conflict', message);

/** How many issues the one-line message names; the `issues` array always holds all of them. */
const MESSAGE_ISSUES = 20;

function listIssues(issues: FieldIssue[]): string {
  const shown = issues.slice(0, MESSAGE_ISSUES).map((i) => `${i.path}: ${i.message}`);
  const more = issues.length > MESSAGE_ISSUES ? `; and ${issues.length - MESSAGE_ISSUES} more (see issues)` : '';
  return `${shown.join('; ')}${more}`;
}

/** 400: the request is not the shape the model's schema describes. */
export function invalidRequest(issues: FieldIssue[]): HttpError {
  return new HttpError(400, 'invalid_request', `invalid request: ${listIssues(issues)}`, issues);
}

/** 422: well-formed, but a value cannot be accepted (a control character in a category). */
export function invalidValue(issues: FieldIssue[]): HttpError {
  return new HttpError(422, 'invalid_value', `invalid value: ${listIssues(issues)}`, issues);
}

/** 422: the model's answer for these inputs is not a finite number; nothing was logged for the request. */
export function nonFiniteScore(issues: FieldIssue[]): HttpError {
  return new HttpError(422, 'non_finite_score', `the model cannot score these inputs: ${listIssues(issues)}`, issues);
}

/** `['instances', 3, 'features', 'amount']` → `instances[3].features.amount`. */
export function formatPath(path: readonly PropertyKey[], root = 'body'): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else {
      const name = String(key);
      out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `${out ? '.' : ''}${name}` : `[${JSON.stringify(name)}]`;
    }
  }
  return out || root;
}

/** zod issues → one FieldIssue per bad field (an unknown key becomes its own issue at its own path). */
export function fieldIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      const where = path.at(-1) === 'features' ? 'unknown feature' : 'unknown field';
      for (const key of issue.keys) out.push({ path: formatPath([...path, key]), message: `${where} (not in the model's spec)` });
    } else if (issue.code === 'invalid_union') {
      out.push({ path: formatPath(path), message: issue.message });
    } else {
      out.push({ path: formatPath(path), message: issue.message });
    }
  }
  return out;
}

/** Parses with a zod schema or throws a 400 naming every bad field. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, prefix: readonly PropertyKey[] = []): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw invalidRequest(fieldIssues(result.error.issues, prefix));
}

/** Friendlier words for Fastify's own refusals (body size, JSON syntax, content type). */
function describeFastifyError(err: FastifyError, bodyLimit: number): { status: number; code: string; message: string } | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'body_too_large', message: `request body exceeds the limit of ${bodyLimit} bytes; split the batch into smaller requests` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported_media_type', message: 'expected Content-Type: application/json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: 'invalid_json', message: 'empty request body; expected a JSON object' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'invalid_json', message: `request body is not valid JSON (${err.message})` };
    default:
      return undefined;
  }
}

/** One error handler for the whole gateway: HttpErrors as they are, Fastify refusals reworded, the rest 500 and logged. */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number, log: Logger): void {
  app.setErrorHandler((err: FastifyError | HttpError, request, reply) => {
    if (err instanceof HttpError) {
      return reply.code(err.statusCode).send({ error: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) });
    }
    const known = describeFastifyError(err, bodyLimit);
    if (known) return reply.code(known.status).send({ error: known.code, message: known.message });
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log.error({ err, method: request.method, url: request.url }, 'request failed');
    return reply
      .code(status)
      .send({ error: status === 500 ? 'internal_error' : 'bad_request', message: status === 500 ? 'internal error (logged by the gateway)' : err.message || 'bad request' });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });
}
