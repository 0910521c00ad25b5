import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { PriceInput, PriceResult } from '../../core/pricing/types.ts';
import type { ClickHouse } from '../../store/port.ts';
import { repriceRange } from '../../store/reprice.ts';
import { chTime } from '../../store/time.ts';
import { requireRole, type Tokens } from '../auth.ts';

const Range = Type.Object({ from: Type.Optional(Type.String({ format: 'date-time' })), to: Type.Optional(Type.String({ format: 'date-time' })) }, { additionalProperties: false });
const RepriceBody = Type.Object({ from: Type.String(), to: Type.String(), dry_run: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

/** Latest moment a re-rating may reach: later minutes may still receive spans while the rollup is rebuilt. */
export const REPRICE_SETTLE_MS = 5 * 60_000;

/** Usage views for operators: unpriced usage per model (SPEC §2: never a silent $0) and re-rating. */
export function usageRoutes(app: FastifyInstance, deps: { store: ClickHouse; tokens: Tokens; now: () => number; pricer: { price(i: PriceInput): PriceResult } }): void {
  const admin = requireRole(deps.tokens, ['admin']);
  app.get('/api/usage/unpriced', { schema: { querystring: Range }, preHandler: admin }, async (request) => {
    const q = request.query as Static<typeof Range>;
    const now = deps.now();
    const from = q.from ? Date.parse(q.from) : now - 30 * 86_400_000;
    const to = q.to ? Date.parse(q.to) : now + 60_000;
    const rows = await deps.store.query<{ provider: string; model: string; requests: number; events: number; first_seen: string; last_seen: string }>(
      `SELECT provider, model, sum(requests) AS requests, count() AS events, toString(min(time)) AS first_seen, toString(max(time)) AS last_seen
       FROM ${deps.store.table('usage_events')} WHERE cost_source = 'unpriced' AND time >= {from:DateTime64(3)} AND time < {to:DateTime64(3)}
       GROUP BY provider, model ORDER BY requests DESC LIMIT 1000`,
      { from: chTime(from), to: chTime(to) },
      { tag: 'api.unpriced' },
    );
    return {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      total_requests: rows.reduce((a, r) => a + Number(r.requests), 0),
      models: rows.map((r) => ({ ...r, first_seen: r.first_seen.replace(' ', 'T') + 'Z', last_seen: r.last_seen.replace(' ', 'T') + 'Z' })),
    };
  });

  app.post('/api/usage/reprice', { schema: { body: RepriceBody }, preHandler: admin }, async (request, reply) => {
    const b = request.body as Static<typeof RepriceBody>;
    const from = Date.parse(b.from);
    const to = Date.parse(b.to);
    if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) {
      return reply.code(400).send({ error: 'invalid_range', message: 'from and to must be dates or date-times with from < to' });
    }
    const latest = deps.now() - REPRICE_SETTLE_MS;
    if (to > latest) return reply.code(400).send({ error: 'invalid_range', message: `to must be at least 5 minutes in the past (at most ${new Date(latest).toISOString()})` });
    const report = await repriceRange(deps.store, deps.pricer, { from, to }, { dryRun: b.dry_run ?? false });
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), dry_run: b.dry_run ?? false, ...report };
  });
}
