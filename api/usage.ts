import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { TollkeeperError } from '../core/errors.ts';
import type { PriceInput, PriceResult } from '../core/pricing/types.ts';
import type { ClickHouse } from '../store/port.ts';
import { REPRICE_SETTLE_MS, repriceRange } from '../store/reprice.ts';
import type { UsageReportRepo } from '../store/usage-report-repo.ts';
import { Timestamp } from './schemas.ts';
import { readRange, storedTime } from './time-range.ts';

const Range = Type.Object({ from: Type.Optional(Timestamp), to: Type.Optional(Timestamp) }, { additionalProperties: false });
const RepriceBody = Type.Object(
  { from: Type.String({ description: 'date or date-time' }), to: Type.String({ description: 'date or date-time, at least 5 minutes ago' }), dry_run: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);

const Unpriced = Type.Object({
  from: Timestamp,
  to: Timestamp,
  total_requests: Type.Number(),
  models: Type.Array(Type.Object({ provider: Type.String(), model: Type.String(), requests: Type.Number(), events: Type.Number(), first_seen: Timestamp, last_seen: Timestamp })),
});

const RepriceReport = Type.Object({
  from: Timestamp,
  to: Timestamp,
  dry_run: Type.Boolean(),
  scanned: Type.Integer(),
  changed: Type.Integer(),
  costBefore: Type.Number(),
  costAfter: Type.Number(),
  bySource: Type.Record(Type.String(), Type.Integer(), { description: 'changed events per new cost source' }),
});

export interface UsageOptions {
  reports: UsageReportRepo;
  store: ClickHouse;
  pricer: { price(i: PriceInput): PriceResult };
  now: () => number;
}

/** Usage views for operators: unpriced usage per model (never a silent $0) and re-rating. */
export const usageRoutes: FastifyPluginAsyncTypebox<UsageOptions> = async (app, o) => {
  app.get(
    '/api/usage/unpriced',
    { config: { auth: 'admin' }, schema: { tags: ['usage'], summary: 'Requests that could not be priced, per provider and model (default: last 30 days)', querystring: Range, response: { 200: Unpriced } } },
    async (request) => {
      const now = o.now();
      const { from, to } = readRange(request.query, now + 60_000, 30 * 86_400_000 + 60_000);
      const models = await o.reports.unpricedByModel({ from, to });
      return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), total_requests: models.reduce((a, r) => a + r.requests, 0), models };
    },
  );

  app.post(
    '/api/usage/reprice',
    { config: { auth: 'admin' }, schema: { tags: ['usage'], summary: 'Re-rate stored events in a range with the current prices', body: RepriceBody, response: { 200: RepriceReport } } },
    async (request) => {
      const b = request.body;
      const from = storedTime('body.from', b.from);
      const to = storedTime('body.to', b.to);
      if (from >= to) throw new TollkeeperError('invalid_range', 'from and to must be dates or date-times with from < to');
      const latest = o.now() - REPRICE_SETTLE_MS;
      if (to > latest) throw new TollkeeperError('invalid_range', `to must be at least 5 minutes in the past (at most ${new Date(latest).toISOString()})`);
      const report = await repriceRange(o.store, o.pricer, { from, to }, { dryRun: b.dry_run ?? false });
      return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), dry_run: b.dry_run ?? false, ...report };
    },
  );
};
