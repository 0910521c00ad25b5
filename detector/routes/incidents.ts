import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AnomalyRepo, IncidentRow } from '../../store/anomaly-repo.ts';
import { requireRole, type Tokens } from '../auth.ts';

const Query = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved')])),
    kind: Type.Optional(Type.String({ maxLength: 64 })),
    entity: Type.Optional(Type.String({ maxLength: 256 })),
    pattern: Type.Optional(Type.Union([Type.Literal('burst'), Type.Literal('runaway_loop'), Type.Literal('slow_drip'), Type.Literal('tenant_spike')])),
    severity: Type.Optional(Type.Union([Type.Literal('warning'), Type.Literal('critical')])),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The API shape of an incident (snake_case, RFC 3339 times). */
export function incidentView(i: IncidentRow) {
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
  };
}

/** GET /api/incidents (filters) and GET /api/incidents/:id (SPEC §4). */
export function incidentRoutes(app: FastifyInstance, deps: { repo: AnomalyRepo; tokens: Tokens }): void {
  const admin = requireRole(deps.tokens, ['admin']);
  app.get('/api/incidents', { schema: { querystring: Query }, preHandler: admin }, async (request) => {
    const q = request.query as Static<typeof Query>;
    const rows = await deps.repo.listIncidents({
      ...(q.status ? { status: q.status } : {}),
      ...(q.kind ? { kind: q.kind } : {}),
      ...(q.entity ? { entity: q.entity } : {}),
      ...(q.pattern ? { pattern: q.pattern } : {}),
      ...(q.severity ? { severity: q.severity } : {}),
      ...(q.from ? { from: Date.parse(q.from) } : {}),
      ...(q.to ? { to: Date.parse(q.to) } : {}),
      limit: q.limit ?? 100,
    });
    return { incidents: rows.map(incidentView) };
  });
  app.get('/api/incidents/:id', { schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }) }, preHandler: admin }, async (request, reply) => {
    const row = await deps.repo.getIncident((request.params as { id: string }).id);
    if (!row) return reply.code(404).send({ error: 'not_found', message: 'no such incident' });
    return incidentView(row);
  });
}
