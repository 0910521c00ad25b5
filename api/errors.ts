import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import fp from 'fastify-plugin';
import { TollkeeperError, type ErrorCode } from '../core/errors.ts';
import { describeErrors } from '../core/schema/describe-errors.ts';
import { wellFormedDeep } from '../core/well-formed.ts';
import '../core/schema/formats.ts';

/** The one place an error code becomes an HTTP status. */
const STATUS: Record<ErrorCode, number> = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  invalid_request: 400,
  invalid_policy: 400,
  invalid_ttl: 400,
  invalid_range: 400,
  missing_limit: 400,
  conflict: 409,
  idempotency_key_reused: 422,
  unpriced_model: 400,
  replay_too_long: 422,
  unsupported_media_type: 415,
};

/** Body of every error answer of the API. */
export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'stable error code, e.g. invalid_request, unauthorized, not_found' }),
    message: Type.String({ description: 'the first problem, for people' }),
    errors: Type.Array(Type.String(), { description: 'every problem, each naming a path and the value given' }),
  },
  { $id: 'ErrorBody', title: 'Error' },
);

/** HTTP status for any error reaching a handler: coded errors by table, fastify's own by their status, else 500. */
export function httpStatusOf(err: unknown): number {
  if (err instanceof TollkeeperError) return STATUS[err.code];
  const status = (err as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

/**
 * TypeBox's conversion reads `"1.5"` and `"1e2"` as the integer 1 and `"0x10"` as 16: a query or path integer that
 * is not written in plain decimal digits keeps its text, so the check refuses it naming the value.
 */
function keepNonDecimalIntegers(schema: TSchema, raw: unknown, converted: unknown): unknown {
  const props = (schema as { properties?: Record<string, { type?: unknown }> }).properties;
  if (!props || typeof raw !== 'object' || raw === null || typeof converted !== 'object' || converted === null) return converted;
  const out = { ...(converted as Record<string, unknown>) };
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (props[k]?.type === 'integer' && typeof v === 'string' && !/^\s*-?\d+\s*$/.test(v)) out[k] = v;
  }
  return out;
}

/**
 * Request validation by TypeBox (the library the config uses too), with the same messages: each problem names
 * its path (`body.limits.cost_usd`), the expectation and the value. Query strings and params are converted to
 * the schema's types first (`?limit=5` is a number).
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema);
  const part = httpPart === 'querystring' ? 'query' : (httpPart ?? 'request');
  return (value: unknown) => {
    // Convert may change the object it is given: the raw strings are copied first.
    const converted = httpPart === 'body' ? value : keepNonDecimalIntegers(schema, typeof value === 'object' && value !== null ? { ...value } : value, Value.Convert(schema, value));
    if (check.Check(converted)) return { value: converted };
    const lines = describeErrors(schema, converted, part);
    return { error: new TollkeeperError('invalid_request', lines[0] ?? `${part}: invalid`, lines) };
  };
};

/** Longest path parameter the router reads (find-my-way's default is 100); a schema then decides what it accepts. */
export const MAX_PARAM_LENGTH = 1024;

/**
 * What the router refuses before any route runs — a URL that is not valid percent-encoding (400), a path parameter
 * longer than MAX_PARAM_LENGTH (414) — answered in the error shape of every other error.
 */
export function answerRoutingError(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
  const code = status === 414 ? 'uri_too_long' : 'invalid_request';
  const message = status === 414 ? `a path segment is longer than ${MAX_PARAM_LENGTH} characters` : 'the URL is not valid percent-encoding';
  void reply.code(status).send({ error: code, message, errors: [message] });
}

/** The error for a request no route matches (thrown by the auth hook, before any body is read). */
export function notFound(request: FastifyRequest): TollkeeperError {
  return new TollkeeperError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`);
}

/**
 * The API's error conventions, registered once per listener: TypeBox validation, one error handler that maps
 * coded errors to their status and `{ error, message, errors? }`, and a JSON 404. Client errors never answer
 * 500; an unexpected error is logged and answered 500 without its details.
 */
export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setValidatorCompiler(typeboxValidatorCompiler);
    // Many clients send `content-type: application/json` on every request, DELETE and body-less POSTs included:
    // an empty body is no body (a route that needs one says so through its schema: `body: required`). Anything
    // else is parsed as fastify does by default, refusing `__proto__` and `constructor.prototype` keys.
    // Every body the API reads is JSON: fastify's text/plain parser would hand a route a string (what fetch sends
    // for a string body without a type) and the answer would be a puzzling "expected a mapping"; it is a 415.
    app.removeContentTypeParser('text/plain');
    const parseJson = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      // Compressed JSON would otherwise be answered "not valid JSON", which sends a client looking in the wrong place.
      const encoding = request.headers['content-encoding'];
      if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
        done(new TollkeeperError('unsupported_media_type', `content-encoding ${JSON.stringify(encoding)} is not accepted here: send the JSON uncompressed`));
        return;
      }
      if (body === '') {
        done(null, undefined);
        return;
      }
      // "\ud800" parses into a lone surrogate that no store can hold: made U+FFFD here, as ingest does for spans.
      void parseJson(request, body.toString(), (err: Error | null, value?: unknown) => (err ? done(err, undefined) : done(null, wellFormedDeep(value))));
    });
    // Every route documents the errors its conventions can answer: 400 when it takes input, 401/403 by auth level.
    app.addHook('onRoute', (route) => {
      if (!route.schema) return;
      const auth = route.config?.auth ?? 'admin';
      const response = { ...((route.schema.response as Record<string, unknown> | undefined) ?? {}) };
      const add = (status: number, description: string) => {
        response[status] ??= { ...ErrorBody, description };
      };
      if (route.schema.body || route.schema.querystring || route.schema.params) add(400, 'invalid request: every problem with its path and value');
      if (auth === 'gateway' || auth === 'admin') add(401, 'missing or unknown bearer token');
      if (auth === 'admin') add(403, 'the gateway token cannot do this');
      route.schema.response = response;
    });
    app.setErrorHandler((err: FastifyError | TollkeeperError, request, reply) => {
      const status = httpStatusOf(err);
      if (status >= 500) {
        request.log.error({ err }, 'unexpected error while handling an API request');
        return reply.code(500).send({ error: 'internal', message: 'internal error; see the server log' });
      }
      if (err instanceof TollkeeperError) {
        if (err.code === 'unauthorized') void reply.header('www-authenticate', 'Bearer');
        return reply.code(status).send({ error: err.code, message: err.message, errors: [...err.errors] });
      }
      // fastify's own client errors (unparsable JSON, body too large, unsupported media type).
      if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        const message = `content-type ${JSON.stringify(request.headers['content-type'] ?? '')} is not accepted: send JSON with content-type application/json`;
        return reply.code(415).send({ error: 'unsupported_media_type', message, errors: [message] });
      }
      const code = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body_too_large' : 'invalid_request';
      return reply.code(status).send({ error: code, message: err.message, errors: [err.message] });
    });
    app.setNotFoundHandler((request) => {
      throw notFound(request);
    });
  },
  { name: 'tollkeeper-errors' },
);
