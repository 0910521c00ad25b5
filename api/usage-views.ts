import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { TollkeeperError } from '../core/errors.ts';
import { parseDuration } from '../core/quota/duration.ts';
import type { UsageTotals, UsageViewsRepo } from '../store/usage-views-repo.ts';
import { EntityKind, Timestamp } from './schemas.ts';
import { readRange } from './time-range.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Most buckets one series may have: plenty for a chart, small enough to stay cheap. */
export const MAX_POINTS = 2_000;
/** Days of history "usual" looks back over. */
export const USUAL_DAYS = 7;

const Range = {
  from: Type.Optional(Type.String({ format: 'date-time', description: 'start (default: `to` minus 24 h)' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'end, exclusive (default: now)' })),
};
const SeriesQuery = Type.Object(
  {
    ...Range,
    step: Type.Optional(Type.String({ maxLength: 16, description: 'bucket length in whole minutes, e.g. 15m, 1h (default 1h)' })),
    kind: Type.Optional(EntityKind),
    entity: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'one entity of `kind` (default: all usage)' })),
  },
  { additionalProperties: false },
);
const TopQuery = Type.Object({ ...Range, kind: EntityKind, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }, { additionalProperties: false });

const Totals = Type.Object({
  cost_usd: Type.Number(),
  tokens: Type.Number({ description: 'input + output' }),
  input_tokens: Type.Number(),
  output_tokens: Type.Number(),
  cached_tokens: Type.Number(),
  reasoning_tokens: Type.Number(),
  requests: Type.Number(),
  tool_calls: Type.Number(),
  unpriced_requests: Type.Number(),
});
const SeriesReply = Type.Object({
  from: Timestamp,
  to: Timestamp,
  step_seconds: Type.Integer(),
  kind: Type.Union([Type.String(), Type.Null()]),
  entity: Type.Union([Type.String(), Type.Null()]),
  points: Type.Array(Type.Intersect([Type.Object({ t: Timestamp }), Totals])),
});
const TopReply = Type.Object({
  kind: Type.String(),
  from: Timestamp,
  to: Timestamp,
  entities: Type.Array(Type.Intersect([Type.Object({ id: Type.String(), tenant: Type.String() }), Totals])),
});
const SummaryReply = Type.Object({
  generated_at: Timestamp,
  last_hour: Totals,
  usual_hour: Type.Union([Type.Intersect([Totals, Type.Object({ days: Type.Integer({ description: 'days averaged' }) })]), Type.Null()], { description: 'the same hour on the previous days with history, averaged; null without history' }),
  cost_ratio: Type.Union([Type.Number(), Type.Null()], { description: 'last hour / usual, when the usual is above zero' }),
  last_24h: Totals,
});

function resolveRange(q: { from?: string | undefined; to?: string | undefined }, now: number): { from: number; to: number } {
  return readRange(q, now, DAY);
}

function mean(xs: readonly UsageTotals[]): UsageTotals {
  const out = { ...xs[0]! };
  for (const k of Object.keys(out) as (keyof UsageTotals)[]) out[k] = xs.reduce((a, x) => a + x[k], 0) / xs.length;
  return out;
}

export interface UsageViewOptions {
  repo: UsageViewsRepo;
  now: () => number;
}

/**
 * Read-only usage views for the web UI and operators: spend over time (in total or for one entity), top
 * spenders of a kind, and spend in the last hour against the same hour on the previous days.
 */
export const usageViewRoutes: FastifyPluginAsyncTypebox<UsageViewOptions> = async (app, o) => {
  const tags = ['usage'];
  app.get(
    '/api/usage/series',
    { config: { auth: 'admin' }, schema: { tags, summary: 'Usage per time bucket, in total or for one entity (empty buckets are zeros)', querystring: SeriesQuery, response: { 200: SeriesReply } } },
    async (request) => {
      const q = request.query;
      const range = resolveRange(q, o.now());
      const step = parseDuration(q.step ?? '1h');
      if (!step.ok) throw new TollkeeperError('invalid_request', `query.step: ${step.error}`);
      if (step.ms < 60_000 || step.ms % 60_000 !== 0) throw new TollkeeperError('invalid_request', `query.step: must be whole minutes, at least 1m (got ${JSON.stringify(q.step)})`);
      // Buckets start on multiples of the step, so the first one may begin before `from`: count what is answered.
      const buckets = Math.ceil((range.to - Math.floor(range.from / step.ms) * step.ms) / step.ms);
      if (buckets > MAX_POINTS) throw new TollkeeperError('invalid_request', `query.step: ${q.step ?? '1h'} gives more than ${MAX_POINTS} points over this range; use a larger step`);
      if (q.entity !== undefined && q.kind === undefined) throw new TollkeeperError('invalid_request', 'query.entity: needs kind too (e.g. kind=api_key&entity=k-42)');
      const points = await o.repo.series({
        fromS: Math.floor(range.from / 1000),
        toS: Math.ceil(range.to / 1000),
        stepS: step.ms / 1000,
        ...(q.kind !== undefined ? { kind: q.kind } : {}),
        ...(q.entity !== undefined ? { entity: q.entity } : {}),
      });
      return {
        from: new Date(range.from).toISOString(),
        to: new Date(range.to).toISOString(),
        step_seconds: step.ms / 1000,
        kind: q.kind ?? null,
        entity: q.entity ?? null,
        points: points.map((p) => ({ ...p, t: new Date(p.t * 1000).toISOString() })),
      };
    },
  );

  app.get(
    '/api/usage/top',
    { config: { auth: 'admin' }, schema: { tags, summary: 'Entities of a kind by spend (default: the last 24 hours)', querystring: TopQuery, response: { 200: TopReply } } },
    async (request) => {
      const q = request.query;
      const range = resolveRange(q, o.now());
      const entities = await o.repo.top({ kind: q.kind, fromS: Math.floor(range.from / 1000), toS: Math.ceil(range.to / 1000), limit: q.limit ?? 10 });
      return { kind: q.kind, from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), entities };
    },
  );

  app.get(
    '/api/usage/summary',
    { config: { auth: 'admin' }, schema: { tags, summary: 'Spend in the last hour against the usual for that hour, and the last 24 hours', response: { 200: SummaryReply } } },
    async () => {
      const now = o.now();
      const nowS = Math.floor(now / 1000);
      const r = await o.repo.nowVsUsual({ nowS, days: USUAL_DAYS });
      // Only days the store has usage for count as usual: a two-day-old install is not compared with empty days.
      const windowEndS = (day: number) => Math.floor(nowS / 60) * 60 + 60 - day * 86_400;
      const known = r.firstS === null ? [] : r.sameHour.filter((d) => windowEndS(d.day) > r.firstS!);
      const usual = known.length > 0 ? { ...mean(known.map((d) => d.usage)), days: known.length } : null;
      return {
        generated_at: new Date(now).toISOString(),
        last_hour: r.lastHour,
        usual_hour: usual,
        cost_ratio: usual && usual.cost_usd > 0 ? r.lastHour.cost_usd / usual.cost_usd : null,
        last_24h: r.last24h,
      };
    },
  );
};
