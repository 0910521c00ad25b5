import type { ClickHouse } from './port.ts';

const DAY_S = 86_400;
const HOUR_S = 3_600;

/** Sums of one bucket or one entity. Counts are numbers: ClickHouse sends 64-bit integers as strings in JSON. */
export interface UsageTotals {
  cost_usd: number;
  tokens: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  requests: number;
  tool_calls: number;
  unpriced_requests: number;
}

// Aliases are prefixed: an alias equal to a column name would shadow the column inside the next sum.
const SUMS = `sum(cost_usd) AS v_cost_usd, sum(input_tokens) AS v_input_tokens, sum(output_tokens) AS v_output_tokens,
  sum(cache_read_tokens) AS v_cached_tokens, sum(reasoning_tokens) AS v_reasoning_tokens, sum(requests) AS v_requests,
  sum(tool_calls) AS v_tool_calls, sum(unpriced_requests) AS v_unpriced_requests`;

type SumRow = Record<`v_${Exclude<keyof UsageTotals, 'tokens'>}`, number | string>;

function totals(r: SumRow | undefined): UsageTotals {
  const n = (v: number | string | undefined) => Number(v ?? 0);
  const input = n(r?.v_input_tokens);
  const output = n(r?.v_output_tokens);
  return {
    cost_usd: n(r?.v_cost_usd),
    tokens: input + output,
    input_tokens: input,
    output_tokens: output,
    cached_tokens: n(r?.v_cached_tokens),
    reasoning_tokens: n(r?.v_reasoning_tokens),
    requests: n(r?.v_requests),
    tool_calls: n(r?.v_tool_calls),
    unpriced_requests: n(r?.v_unpriced_requests),
  };
}

/**
 * Every event is in the `service` rows of the rollup exactly once (an event without service.name is stored as
 * unknown_service), so the sum over those rows is the total of all usage.
 */
function whereEntity(kind: string | undefined, entity: string | undefined, params: Record<string, unknown>): string {
  params.kind = kind ?? 'service';
  if (kind === undefined || entity === undefined) return 'kind = {kind:String}';
  params.entity = entity;
  return 'kind = {kind:String} AND entity = {entity:String}';
}

/** Read-only views of the per-minute rollup for the web UI and operators: series, top spenders, now vs usual. */
export function createUsageViewsRepo(ch: ClickHouse) {
  const minute = ch.table('usage_minute');

  return {
    /** Buckets of `stepS` seconds over [fromS, toS) (epoch seconds, from aligned to the step), gaps filled with zeros. */
    async series(o: { fromS: number; toS: number; stepS: number; kind?: string; entity?: string }): Promise<(UsageTotals & { t: number })[]> {
      const origin = Math.floor(o.fromS / o.stepS) * o.stepS;
      const params: Record<string, unknown> = { origin, step: o.stepS, from: origin, to: o.toS };
      const rows = await ch.query<SumRow & { b: number | string }>(
        `SELECT intDiv(toUnixTimestamp(minute) - {origin:Int64}, {step:Int64}) AS b, ${SUMS}
         FROM ${minute}
         WHERE ${whereEntity(o.kind, o.entity, params)} AND minute >= toDateTime({from:Int64}) AND minute < toDateTime({to:Int64})
         GROUP BY b ORDER BY b`,
        params,
        { tag: 'ui.series' },
      );
      const byBucket = new Map(rows.map((r) => [Number(r.b), r]));
      const n = Math.max(0, Math.ceil((o.toS - origin) / o.stepS));
      return Array.from({ length: n }, (_, i) => ({ t: origin + i * o.stepS, ...totals(byBucket.get(i)) }));
    },

    /** Entities of one kind by spend (then requests) over [fromS, toS). */
    async top(o: { kind: string; fromS: number; toS: number; limit: number }): Promise<(UsageTotals & { id: string; tenant: string })[]> {
      const rows = await ch.query<SumRow & { entity: string; tenant: string }>(
        `SELECT entity, any(tenant) AS tenant, ${SUMS}
         FROM ${minute}
         WHERE kind = {kind:String} AND minute >= toDateTime({from:Int64}) AND minute < toDateTime({to:Int64})
         GROUP BY entity ORDER BY v_cost_usd DESC, v_requests DESC, entity LIMIT {limit:UInt32}`,
        { kind: o.kind, from: o.fromS, to: o.toS, limit: o.limit },
        { tag: 'ui.top' },
      );
      return rows.map((r) => ({ id: r.entity, tenant: r.tenant, ...totals(r) }));
    },

    /**
     * Usage of the last hour (ending with the current minute), the same hour on each of the previous `days` days,
     * and the last 24 hours; `firstS` is the first minute with any usage (days before it are not "usual").
     */
    async nowVsUsual(o: { nowS: number; days: number }): Promise<{ lastHour: UsageTotals; sameHour: { day: number; usage: UsageTotals }[]; last24h: UsageTotals; firstS: number | null }> {
      const end = Math.floor(o.nowS / 60) * 60 + 60;
      const params = { end, since: end - o.days * DAY_S - HOUR_S, day: DAY_S, hour: HOUR_S };
      const [hours, day, first] = await Promise.all([
        ch.query<SumRow & { d: number | string }>(
          `SELECT intDiv({end:Int64} - toUnixTimestamp(minute) - 1, {day:Int64}) AS d, ${SUMS}
           FROM ${minute}
           WHERE kind = 'service' AND minute >= toDateTime({since:Int64}) AND minute < toDateTime({end:Int64})
             AND ({end:Int64} - toUnixTimestamp(minute) - 1) % {day:Int64} < {hour:Int64}
           GROUP BY d ORDER BY d`,
          params,
          { tag: 'ui.now_vs_usual' },
        ),
        ch.query<SumRow>(
          `SELECT ${SUMS} FROM ${minute} WHERE kind = 'service' AND minute >= toDateTime({from:Int64}) AND minute < toDateTime({end:Int64})`,
          { from: end - DAY_S, end },
          { tag: 'ui.last_24h' },
        ),
        ch.query<{ n: number | string; first: number | string }>(
          `SELECT count() AS n, toUnixTimestamp(min(minute)) AS first FROM ${minute} WHERE kind = 'service'`,
          undefined,
          { tag: 'ui.first_usage' },
        ),
      ]);
      const byDay = new Map(hours.map((r) => [Number(r.d), r]));
      return {
        lastHour: totals(byDay.get(0)),
        sameHour: Array.from({ length: o.days }, (_, i) => ({ day: i + 1, usage: totals(byDay.get(i + 1)) })),
        last24h: totals(day[0]),
        firstS: first[0] && Number(first[0].n) > 0 ? Number(first[0].first) : null,
      };
    },
  };
}
export type UsageViewsRepo = ReturnType<typeof createUsageViewsRepo>;
