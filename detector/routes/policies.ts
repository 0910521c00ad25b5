import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { requireRole, type Tokens } from '../auth.ts';
import type { Outcome, PolicyService } from '../policies.ts';

const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) });
const OverrideParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }), entity: Type.String({ minLength: 1, maxLength: 256 }) });

function send<T>(reply: FastifyReply, r: Outcome<T>, created = false): FastifyReply {
  if (r.ok) return reply.code(created ? 201 : 200).send(r.value);
  const error = r.status === 400 ? 'invalid_policy' : r.status === 404 ? 'not_found' : 'conflict';
  return reply.code(r.status).send({ error, message: r.errors[0], errors: r.errors });
}

/** Admin API for policies and per-entity overrides (SPEC §3): list, get, create, update, delete, history. */
export function policyRoutes(app: FastifyInstance, deps: { policies: PolicyService; tokens: Tokens }): void {
  const admin = { preHandler: requireRole(deps.tokens, ['admin']) };
  const { policies } = deps;

  app.get('/api/policies', admin, async () => ({ policies: policies.list() }));
  app.post('/api/policies', admin, async (request, reply) => send(reply, await policies.create(request.body, 'api'), true));
  app.get('/api/policies/:name', { ...admin, schema: { params: NameParams } }, async (request, reply) => {
    const { name } = request.params as Static<typeof NameParams>;
    const v = policies.get(name);
    if (!v) return reply.code(404).send({ error: 'not_found', message: `no policy ${name}` });
    return { ...v, overrides: policies.listOverrides(name), history: policies.history(name) };
  });
  app.put('/api/policies/:name', { ...admin, schema: { params: NameParams } }, async (request, reply) =>
    send(reply, await policies.update((request.params as Static<typeof NameParams>).name, request.body, 'api')),
  );
  app.delete('/api/policies/:name', { ...admin, schema: { params: NameParams } }, async (request, reply) =>
    send(reply, await policies.remove((request.params as Static<typeof NameParams>).name, 'api')),
  );
  app.get('/api/policies/:name/overrides', { ...admin, schema: { params: NameParams } }, async (request, reply) => {
    const { name } = request.params as Static<typeof NameParams>;
    if (!policies.get(name)) return reply.code(404).send({ error: 'not_found', message: `no policy ${name}` });
    return { policy: name, overrides: policies.listOverrides(name) };
  });
  app.put('/api/policies/:name/overrides/:entity', { ...admin, schema: { params: OverrideParams } }, async (request, reply) => {
    const { name, entity } = request.params as Static<typeof OverrideParams>;
    return send(reply, await policies.setOverride(name, entity, request.body, 'api'));
  });
  app.delete('/api/policies/:name/overrides/:entity', { ...admin, schema: { params: OverrideParams } }, async (request, reply) => {
    const { name, entity } = request.params as Static<typeof OverrideParams>;
    return send(reply, await policies.setOverride(name, entity, null, 'api', true));
  });
}
