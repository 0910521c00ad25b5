import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { TollkeeperError, valueOrThrow } from '../core/errors.ts';
import { Limits, PolicyInput, PolicyUpdate } from '../core/quota/policy-schema.ts';
import type { PolicyService } from '../detector/policies.ts';
import { ErrorBody } from './errors.ts';
import { Timestamp } from './schemas.ts';

const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) });
const OverrideParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }), entity: Type.String({ minLength: 1, maxLength: 256 }) });

const LimitValues = Type.Record(Type.String(), Type.Number());

const PolicyView = Type.Object(
  {
    name: Type.String(),
    source: Type.Union([Type.Literal('config'), Type.Literal('api')]),
    version: Type.Integer(),
    updated_at: Type.Union([Timestamp, Type.Null()]),
    policy: PolicyInput,
  },
  { title: 'PolicyView' },
);

const Override = Type.Object({ entity: Type.String(), limits: LimitValues, version: Type.Integer(), updated_at: Timestamp });

const PolicyDetail = Type.Object({
  ...PolicyView.properties,
  overrides: Type.Array(Override),
  history: Type.Array(
    Type.Object({ version: Type.Integer(), deleted: Type.Boolean(), changed_at: Timestamp, actor: Type.String(), policy: Type.Unknown({ description: 'the body of that version, as written' }) }),
  ),
});

const OverrideResult = Type.Object({ policy: Type.String(), entity: Type.String(), limits: Type.Union([LimitValues, Type.Null()]), version: Type.Integer() });

const tags = ['policies'];
const admin = { auth: 'admin' as const };

/** Admin API for policies and per-entity overrides: list, get, create, update, delete, history. */
export const policyRoutes: FastifyPluginAsyncTypebox<{ policies: PolicyService }> = async (app, { policies }) => {
  app.get('/api/policies', { config: admin, schema: { tags, summary: 'Every policy, from the config file and the API', response: { 200: Type.Object({ policies: Type.Array(PolicyView) }) } } }, async () => ({
    policies: policies.list(),
  }));

  app.post(
    '/api/policies',
    { config: admin, schema: { tags, summary: 'Create a policy (same shape as in the config file)', body: PolicyInput, response: { 201: PolicyView, 409: ErrorBody } } },
    async (request, reply) => reply.code(201).send(valueOrThrow(await policies.create(request.body, 'api'))),
  );

  app.get(
    '/api/policies/:name',
    { config: admin, schema: { tags, summary: 'A policy with its overrides and version history', params: NameParams, response: { 200: PolicyDetail, 404: ErrorBody } } },
    async (request) => {
      const { name } = request.params;
      const v = policies.get(name);
      if (!v) throw new TollkeeperError('not_found', `no policy ${name}`);
      return { ...v, overrides: policies.listOverrides(name), history: policies.history(name) };
    },
  );

  app.put(
    '/api/policies/:name',
    { config: admin, schema: { tags, summary: 'Replace a policy created through the API (a new version)', params: NameParams, body: PolicyUpdate, response: { 200: PolicyView, 404: ErrorBody, 409: ErrorBody } } },
    async (request) => valueOrThrow(await policies.update(request.params.name, request.body, 'api')),
  );

  app.delete(
    '/api/policies/:name',
    { config: admin, schema: { tags, summary: 'Delete a policy created through the API', params: NameParams, response: { 200: Type.Object({ name: Type.String(), version: Type.Integer() }), 404: ErrorBody, 409: ErrorBody } } },
    async (request) => valueOrThrow(await policies.remove(request.params.name, 'api')),
  );

  app.get(
    '/api/policies/:name/overrides',
    { config: admin, schema: { tags, summary: 'Per-entity limits of a policy', params: NameParams, response: { 200: Type.Object({ policy: Type.String(), overrides: Type.Array(Override) }), 404: ErrorBody } } },
    async (request) => {
      const { name } = request.params;
      if (!policies.get(name)) throw new TollkeeperError('not_found', `no policy ${name}`);
      return { policy: name, overrides: policies.listOverrides(name) };
    },
  );

  app.put(
    '/api/policies/:name/overrides/:entity',
    {
      config: admin,
      schema: { tags, summary: 'Give one entity its own limits', params: OverrideParams, body: Type.Object({ limits: Limits }, { additionalProperties: false }), response: { 200: OverrideResult, 404: ErrorBody } },
    },
    async (request) => valueOrThrow(await policies.setOverride(request.params.name, request.params.entity, request.body, 'api')),
  );

  app.delete(
    '/api/policies/:name/overrides/:entity',
    { config: admin, schema: { tags, summary: 'Remove an entity\'s own limits', params: OverrideParams, response: { 200: OverrideResult, 404: ErrorBody } } },
    async (request) => valueOrThrow(await policies.setOverride(request.params.name, request.params.entity, null, 'api', true)),
  );
};
