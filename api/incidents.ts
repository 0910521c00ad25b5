import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { TollkeeperError } from '../core/errors.ts';
import type { AnomalyRepo, IncidentRow } from '../store/anomaly-repo.ts';
import { ErrorBody } from './errors.ts';
import { EntityRef, Timestamp } from './schemas.ts';
import { clampToStored } from './time-range.ts';

const Pattern = Type.Union([Type.Literal('burst'), Type.Literal('runaway_loop'), Type.Literal('slow_drip'), Type.Literal('tenant_spike')]);
const Severity = Type.Union([Type.Literal('warning'), Type.Literal('critical')]);

const Query = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved')])),
    kind: Type.Optional(Type.String({ maxLength: 64 })),
    entity: Type.Optional(Type.String({ maxLength: 256 })),
    pattern: Type.Optional(Pattern),
    severity: Type.Optional(Severity),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'default 100' })),
  },
  { additionalProperties: false },
);

const Incident = Type.Object(
  {
    id: Type.String(),
    entity: EntityRef,
    tenant: Type.Union([Type.String(), Type.Null()]),
    pattern: Pattern,
    severity: Severity,
    status: Type.Union([Type.Literal('open'), Type.Literal('resolved')]),
    score: Type.Number(),
    metric: Type.String(),
    observed: Type.Number(),
    expected: Type.Number(),
    expected_spread: Type.Number(),
    window: Type.Object({ start: Type.Union([Timestamp, Type.Null()]), end: Type.Union([Timestamp, Type.Null()]) }),
    started_at: Type.Union([Timestamp, Type.Null()]),
    detected_at: Type.Union([Timestamp, Type.Null()]),
    updated_at: Type.Union([Timestamp, Type.Null()]),
    resolved_at: Type.Union([Timestamp, Type.Null()]),
    explanation: Type.String(),
    action: Type.String(),
    shadow: Type.Boolean(),
    spend_usd: Type.Union([Type.Number(), Type.Null()], {
      description: 'USD spent from the first anomalous usage until enforcement (frozen once enforced), or until the last update while it only warns; null on incidents recorded before spend was stored',
    }),
    usual_hourly_usd: Type.Union([Type.Number(), Type.Null()], { description: "The entity's usual spend in this hour (its own history, its peers' for a new entity, else the cost floor), USD" }),
    projected_hourly_usd: Type.Union([Type.Number(), Type.Null()], { description: 'What the next hour would cost at the rate of the window that scored the finding, USD' }),
    enforced_at: Type.Union([Timestamp, Type.Null()], { description: 'When the incident first turned critical: its action was applied then (in shadow mode only recorded); null while it only warns' }),
  },
  { title: 'Incident' },
);

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
/** JSON has no infinity: a figure that is not a real number is reported as unknown. */
const usd = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? null : v);

/** The API shape of an incident (snake_case, RFC 3339 times). */
export function incidentView(i: IncidentRow): Static<typeof Incident> {
  return {
    id: i.id,
    entity: { kind: i.kind, id: i.entityId },
    tenant: i.tenant || null,
    pattern: i.pattern,
    severity: i.severity,
    status: i.resolvedAt === null ? 'open' : 'resolved',
    score: i.score,
    metric: i.metric,
    observed: i.observed,
    expected: i.expected,
    expected_spread: i.expectedSpread,
    window: { start: iso(i.windowStart), end: iso(i.windowEnd) },
    started_at: iso(i.startedAt),
    detected_at: iso(i.detectedAt),
    updated_at: iso(i.updatedAt),
    resolved_at: iso(i.resolvedAt),
    explanation: i.explanation,
    action: i.action,
    shadow: i.shadow,
    spend_usd: usd(i.spendUsd),
    usual_hourly_usd: usd(i.usualHourlyUsd),
    projected_hourly_usd: usd(i.projectedHourlyUsd),
    enforced_at: iso(i.enforcedAt ?? null),
  };
}

/** GET /api/incidents (filters) and GET /api/incidents/:id. */
export const incidentRoutes: FastifyPluginAsyncTypebox<{ repo: AnomalyRepo }> = async (app, { repo }) => {
  app.get(
    '/api/incidents',
    { config: { auth: 'admin' }, schema: { tags: ['incidents'], summary: 'Denial-of-wallet incidents, newest first', querystring: Query, response: { 200: Type.Object({ incidents: Type.Array(Incident) }) } } },
    async (request) => {
      const q = request.query;
      const rows = await repo.listIncidents({
        ...(q.status ? { status: q.status } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
        ...(q.entity ? { entity: q.entity } : {}),
        ...(q.pattern ? { pattern: q.pattern } : {}),
        ...(q.severity ? { severity: q.severity } : {}),
        ...(q.from ? { from: clampToStored(Date.parse(q.from)) } : {}),
        ...(q.to ? { to: clampToStored(Date.parse(q.to)) } : {}),
        limit: q.limit ?? 100,
      });
      return { incidents: rows.map(incidentView) };
    },
  );
  app.get(
    '/api/incidents/:id',
    { config: { auth: 'admin' }, schema: { tags: ['incidents'], summary: 'One incident', params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 200: Incident, 404: ErrorBody } } },
    async (request) => {
      const row = await repo.getIncident(request.params.id);
      if (!row) throw new TollkeeperError('not_found', 'no such incident');
      return incidentView(row);
    },
  );
};
