import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { QuotaStatus } from '../detector/quota-status.ts';
import { TollkeeperError } from '../core/errors.ts';
import { didYouMean } from '../core/schema/did-you-mean.ts';
import { ErrorBody } from './errors.ts';
import { Timestamp, Window } from './schemas.ts';

const Query = Type.Object(
  {
    scope: Type.String({ minLength: 1, maxLength: 128, description: 'entity kind or attribute the policies are scoped to' }),
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'one entity; without it, the top consumers' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'top consumers per policy (default 20)' })),
  },
  { additionalProperties: false },
);

const Dimension = Type.Object({ used: Type.Number(), limit: Type.Number(), utilization: Type.Number(), remaining: Type.Number() });

const statusFields = {
  policy: Type.String(),
  period: Window,
  state: Type.Union([Type.Literal('ok'), Type.Literal('warning'), Type.Literal('exceeded')]),
  utilization: Type.Number({ description: 'the highest utilization of any limited dimension' }),
  dimensions: Type.Record(Type.String(), Dimension, { description: 'every dimension the policy limits' }),
  projected_exhaustion_at: Type.Union([Timestamp, Type.Null()], { description: 'when the recent burn rate reaches a limit within the period' }),
  unpriced_requests: Type.Integer({ description: 'requests in the period that could not be priced' }),
};

const EntityStatus = Type.Object({ scope: Type.String(), id: Type.String(), policies: Type.Array(Type.Object(statusFields)) }, { title: 'EntityQuotaStatus' });
const TopStatus = Type.Object(
  { scope: Type.String(), policies: Type.Array(Type.Object({ policy: Type.String(), period: Window, entities: Type.Array(Type.Object({ id: Type.String(), ...statusFields })) })) },
  { title: 'TopQuotaStatus' },
);

/** An entity kind or a policy's attribute scope; anything else is a 400 naming what there is. */
function checkScope(scope: string, known: readonly string[]): void {
  if (known.includes(scope)) return;
  const hint = didYouMean(scope, known);
  throw new TollkeeperError(
    'invalid_request',
    `query.scope: unknown scope ${JSON.stringify(scope)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}: expected an entity kind or an attribute a policy is scoped to: ${known.join(', ')}`,
  );
}

export interface QuotaOptions {
  status: QuotaStatus;
  now: () => number;
}

/** GET /api/quotas/status: one entity (?scope=&id=) or the top consumers of a scope (?scope=&limit=). */
export const quotaRoutes: FastifyPluginAsyncTypebox<QuotaOptions> = async (app, o) => {
  app.get(
    '/api/quotas/status',
    {
      config: { auth: 'gateway' },
      schema: {
        tags: ['quotas'],
        summary: 'Used, limit, utilization, remaining and projected exhaustion per policy',
        description:
          'An unknown entity gets zero usage for the policies that would match it. A scope that is neither an entity kind nor an attribute some active policy is scoped to is a 400 naming the scopes there are (a typo must not look like an entity without quotas).',
        querystring: Query,
        response: { 200: Type.Union([EntityStatus, TopStatus]), 400: ErrorBody },
      },
    },
    async (request) => {
      const q = request.query;
      checkScope(q.scope, o.status.scopes());
      if (q.id !== undefined) return o.status.forEntity(q.scope, q.id, o.now());
      return o.status.top(q.scope, q.limit ?? 20, o.now());
    },
  );
};
