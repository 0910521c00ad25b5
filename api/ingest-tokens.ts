import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { valueOrThrow } from '../core/errors.ts';
import type { IngestTokenService } from '../detector/ingest-tokens.ts';
import { ErrorBody } from './errors.ts';
import { Timestamp } from './schemas.ts';

const TokenName = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'letters, digits, _ . - (at most 64)' });
const ScopeList = (what: string) => Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: 1000, description: `the ${what} this token may report usage for (as stored); absent: any` }));

const Scope = Type.Object({ tenants: ScopeList('tenants'), api_keys: ScopeList('api key ids'), services: ScopeList('services (service.name)') });

const TokenView = Type.Object(
  {
    name: Type.String(),
    source: Type.Union([Type.Literal('config'), Type.Literal('api'), Type.Literal('otlp_token')]),
    state: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
    scope: Scope,
    version: Type.Union([Type.Integer(), Type.Null()], { description: 'API tokens: version of the last change' }),
    changed_at: Type.Union([Timestamp, Type.Null()]),
  },
  { title: 'IngestToken' },
);

const CreateBody = Type.Object({ name: TokenName, ...Scope.properties }, { additionalProperties: false });

const Created = Type.Object({
  ...TokenView.properties,
  token: Type.String({ description: 'the secret, shown this once: only its keyed hash is kept' }),
  otlp_headers: Type.String({ description: 'the value for OTEL_EXPORTER_OTLP_HEADERS' }),
});

const tags = ['ingest tokens'];
const admin = { auth: 'admin' as const };

/** Admin API for ingest tokens: list (never a secret), create (the secret shown once), revoke. */
export const ingestTokenRoutes: FastifyPluginAsyncTypebox<{ tokens: IngestTokenService }> = async (app, { tokens }) => {
  app.get(
    '/api/ingest-tokens',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Every ingest token (config file, auth.otlp_token, API), without secrets',
        response: { 200: Type.Object({ required: Type.Boolean({ description: 'whether OTLP requests need a token now' }), tokens: Type.Array(TokenView) }) },
      },
    },
    async () => ({ required: tokens.required(), tokens: tokens.list() }),
  );

  app.post(
    '/api/ingest-tokens',
    { config: admin, schema: { tags, summary: 'Create an ingest token, optionally limited to tenants, api keys and services', body: CreateBody, response: { 201: Created, 409: ErrorBody } } },
    async (request, reply) => {
      const { view, token } = valueOrThrow(await tokens.create(request.body, 'api'));
      return reply.code(201).send({ ...view, token, otlp_headers: `Authorization=Bearer ${token}` });
    },
  );

  app.delete(
    '/api/ingest-tokens/:name',
    {
      config: admin,
      schema: { tags, summary: 'Revoke an ingest token created through the API (its requests get 401)', params: Type.Object({ name: TokenName }), response: { 200: TokenView, 404: ErrorBody, 409: ErrorBody } },
    },
    async (request) => valueOrThrow(await tokens.revoke(request.params.name, 'api')),
  );
};
