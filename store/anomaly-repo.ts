import type { EntityHistory, EntityObservation, Metric } from '../core/anomaly/index.ts';
import type { EntityKind } from '../core/usage/types.ts';
import type { ClickHouse } from './port.ts';
import { incidentFromRow, incidentToRow, type IncidentFilter, type IncidentRow } from './incident-rows.ts';
import { chTime } from './time.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
/**
 * The collector accepts spans stamped up to 5 minutes ahead (a host whose clock runs fast). The live detector reads
 * such minutes too (`aheadMs`) and counts them in the current one, as the fresh path counts them now: a leaked key on
 * that host is judged on its first calls, not once the clock has caught up with them. Each read overwrites the
 * minutes it covers, so a minute counted early moves back to its own place once it has come. Replay reads none:
 * for a tick in the past, later minutes are simply later usage.
 */
export const LIVE_AHEAD_MS = 5 * MINUTE;

/** [minute index, cost_usd, tokens, requests, tool_calls] */
export type Point = [number, number, number, number, number];

/** One entity's minutes with usage in a span (sparse). */
export interface MinutePoints {
  kind: EntityKind;
  id: string;
  /** Tenant of its latest minute ('' for tenants themselves). */
  tenant: string;
  points: Point[];
}

function emptySeries(n: number): Record<Metric, number[]> {
  return { cost_usd: new Array<number>(n).fill(0), tokens: new Array<number>(n).fill(0), requests: new Array<number>(n).fill(0), tool_calls: new Array<number>(n).fill(0) };
}

function fill(series: Record<Metric, number[]>, points: readonly Point[]): void {
  for (const [i, cost, tokens, requests, tools] of points) {
    if (i < 0 || i >= series.cost_usd.length) continue;
    series.cost_usd[i] = cost;
    series.tokens[i] = tokens;
    series.requests[i] = requests;
    series.tool_calls[i] = tools;
  }
}

export type { IncidentFilter, IncidentRow } from './incident-rows.ts';

/** Reads for detection (aggregation stays in ClickHouse; Node gets small per-entity series) and incident storage. */
export function createAnomalyRepo(ch: ClickHouse, opts: { aheadMs?: number } = {}) {
  const aheadMs = Math.max(0, opts.aheadMs ?? 0);
  const minute = ch.table('usage_minute');
  const incidents = ch.table('incidents');

  /**
   * Sparse per-minute totals of every (kind, entity) matching `where` in [start, current]: only minutes with usage,
   * indexed from `start`.
   */
  async function minuteRows(where: string, params: Record<string, unknown>, start: number, current: number, tag: string, limitPerKind?: number): Promise<MinutePoints[]> {
    // Bounded: the entities of each kind that spent most (then called most) in the span.
    const limit = limitPerKind === undefined ? '' : 'ORDER BY sum(cost) DESC, sum(requests) + sum(tools) DESC LIMIT {limit:UInt64} BY kind';
    const rows = await ch.query<{ kind: EntityKind; entity: string; tenant: string; points: Point[] }>(
      `SELECT kind, entity, argMax(tenant, m) AS tenant,
              groupArray((toInt32(intDiv(toUnixTimestamp(m) - {start:Int64}, 60)), cost, tokens, requests, tools)) AS points
       FROM (
         SELECT kind, entity, least(minute, toDateTime({current:UInt32}, 'UTC')) AS m, any(tenant) AS tenant, sum(cost_usd) AS cost,
                sum(input_tokens) + sum(output_tokens) AS tokens, toFloat64(sum(requests)) AS requests, toFloat64(sum(tool_calls)) AS tools
         FROM ${minute}
         WHERE minute >= {from:DateTime} AND minute <= {ahead:DateTime} AND ${where}
         GROUP BY kind, entity, m
       )
       GROUP BY kind, entity ${limit}`,
      { ...params, start: start / 1000, from: Math.floor(start / 1000), current: current / 1000, ahead: (current + aheadMs) / 1000, ...(limitPerKind === undefined ? {} : { limit: limitPerKind }) },
      { tag },
    );
    return rows.map((r) => ({ kind: r.kind, id: r.entity, tenant: r.kind === 'tenant' ? '' : r.tenant, points: r.points.map((p) => p.map(Number) as Point) }));
  }

  function toObservations(rows: readonly MinutePoints[], start: number, minutes: number): EntityObservation[] {
    return rows.map((r) => {
      const series = emptySeries(minutes);
      fill(series, r.points);
      return { kind: r.kind, id: r.id, tenant: r.tenant, minuteStart: start, series };
    });
  }

  return {
    /**
     * Per-minute series over the last `minutes` (ending with the current minute) of every entity of these kinds
     * that was active in the last `activeMinutes`; with `limitPerKind`, only that many a kind, those that spent most.
     */
    async observations(kinds: readonly EntityKind[], now: number, minutes: number, activeMinutes: number, limitPerKind?: number): Promise<EntityObservation[]> {
      const current = Math.floor(now / MINUTE) * MINUTE;
      const start = current - (minutes - 1) * MINUTE;
      const rows = await minuteRows(
        `kind IN {kinds:Array(String)}
         AND (kind, entity) IN (SELECT kind, entity FROM ${minute} WHERE kind IN {kinds:Array(String)} AND minute >= {active:DateTime} AND minute <= {ahead:DateTime})`,
        { kinds, active: Math.floor((current - activeMinutes * MINUTE) / 1000) },
        start,
        current,
        'anomaly.observations',
        limitPerKind,
      );
      return toObservations(rows, start, minutes);
    },

    /** Per-minute series over the last `minutes` of the given entities of one kind, whenever they were last active. */
    async observationsOf(kind: EntityKind, ids: readonly string[], now: number, minutes: number): Promise<EntityObservation[]> {
      if (ids.length === 0) return [];
      const current = Math.floor(now / MINUTE) * MINUTE;
      const start = current - (minutes - 1) * MINUTE;
      const rows = await minuteRows('kind = {kind:String} AND entity IN {ids:Array(String)}', { kind, ids }, start, current, 'anomaly.observations_of');
      return toObservations(rows, start, minutes);
    },

    /**
     * The minutes from `from` (a minute boundary) through the current one that have usage, per entity of these kinds
     * (sparse, indexed from `from`): all a detector that keeps its series in memory needs to read each tick.
     */
    async minutesSince(kinds: readonly EntityKind[], from: number, now: number): Promise<MinutePoints[]> {
      return minuteRows('kind IN {kinds:Array(String)}', { kinds }, from, Math.floor(now / MINUTE) * MINUTE, 'anomaly.minutes_since');
    },

    /** Hourly totals for the `hours` before the current hour, for the given entities of one kind. */
    async histories(kind: EntityKind, ids: readonly string[], now: number, hours: number): Promise<EntityHistory[]> {
      if (ids.length === 0) return [];
      const end = Math.floor(now / HOUR) * HOUR;
      const start = end - hours * HOUR;
      // Column arrays, not arrays of tuples: a quarter of the JSON to produce and parse.
      const rows = await ch.query<{ entity: string; i: number[]; c: number[]; t: number[]; r: number[]; x: number[] }>(
        `SELECT entity, groupArray(toInt32(intDiv(toUnixTimestamp(hour) - {start:Int64}, 3600))) AS i, groupArray(round(cost, 6)) AS c,
                groupArray(tokens) AS t, groupArray(requests) AS r, groupArray(tools) AS x
         FROM (
           SELECT entity, toStartOfHour(minute) AS hour, sum(cost_usd) AS cost, sum(input_tokens) + sum(output_tokens) AS tokens,
                  sum(requests) AS requests, sum(tool_calls) AS tools
           FROM ${minute}
           WHERE kind = {kind:String} AND entity IN {ids:Array(String)} AND minute >= {from:DateTime} AND minute < {to:DateTime}
           GROUP BY entity, hour
         )
         GROUP BY entity`,
        { kind, ids, start: start / 1000, from: start / 1000, to: end / 1000 },
        { tag: 'anomaly.histories' },
      );
      const byId = new Map(rows.map((r) => [r.entity, r.i.map((idx, k): Point => [idx, Number(r.c[k]), Number(r.t[k]), Number(r.r[k]), Number(r.x[k])])]));
      return ids.map((id) => {
        const points = byId.get(id) ?? [];
        // History starts at the entity's first active hour: hours before it existed are not "idle hours".
        const first = points.reduce((m, p) => Math.min(m, p[0]), hours);
        const span = first < hours ? hours - first : 0;
        const hourly = emptySeries(span);
        fill(hourly, points.map((p): Point => [p[0] - first, p[1], p[2], p[3], p[4]]));
        return { kind, id, hourStart: start + (first < hours ? first : hours) * HOUR, hourly };
      });
    },

    /** Which of these entities have usage before `before` within the history horizon (cheap: ids only). */
    async withHistory(kind: EntityKind, ids: readonly string[], now: number, hours: number, before: number): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await ch.query<{ entity: string }>(
        `SELECT DISTINCT entity FROM ${minute} WHERE kind = {kind:String} AND entity IN {ids:Array(String)} AND minute >= {from:DateTime} AND minute < {before:DateTime}`,
        { kind, ids, from: Math.floor((now - hours * HOUR) / 1000), before: Math.floor(before / 1000) },
        { tag: 'anomaly.with_history' },
      );
      return new Set(rows.map((r) => r.entity));
    },

    async saveIncidents(rows: readonly IncidentRow[], version: number): Promise<void> {
      await ch.insert('incidents', rows.map((i) => incidentToRow(i, version)), { tag: 'incidents.save' });
    },

    async listIncidents(filter: IncidentFilter): Promise<IncidentRow[]> {
      const where: string[] = [];
      const params: Record<string, unknown> = { limit: filter.limit };
      if (filter.status === 'open') where.push('resolved_at IS NULL');
      if (filter.status === 'resolved') where.push('resolved_at IS NOT NULL');
      for (const k of ['kind', 'entity', 'pattern', 'severity'] as const) {
        if (filter[k] !== undefined) {
          where.push(`${k} = {${k}:String}`);
          params[k] = filter[k];
        }
      }
      if (filter.from !== undefined) {
        where.push('started_at >= {from:DateTime64(3)}');
        params.from = chTime(filter.from);
      }
      if (filter.to !== undefined) {
        where.push('started_at < {to:DateTime64(3)}');
        params.to = chTime(filter.to);
      }
      const rows = await ch.query<Record<string, unknown>>(
        `SELECT * FROM ${incidents} FINAL ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY detected_at DESC LIMIT {limit:UInt32}`,
        params,
        { tag: 'incidents.list' },
      );
      return rows.map(incidentFromRow);
    },

    async getIncident(id: string): Promise<IncidentRow | undefined> {
      const rows = await ch.query<Record<string, unknown>>(`SELECT * FROM ${incidents} FINAL WHERE id = {id:String}`, { id }, { tag: 'incidents.get' });
      return rows[0] ? incidentFromRow(rows[0]) : undefined;
    },
  };
}
export type AnomalyRepo = ReturnType<typeof createAnomalyRepo>;
