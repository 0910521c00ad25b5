import type { FreshBucket } from '../core/anomaly/index.ts';
import type { EntityKind } from '../core/usage/types.ts';
import type { ClickHouse } from './port.ts';
import { chTime } from './time.ts';

/** One entity's usage in one sub-minute bucket, summed in ClickHouse. */
export interface FreshRow {
  kind: EntityKind;
  id: string;
  tenant: string;
  bucket: FreshBucket;
}

export interface FreshQuery {
  kinds: readonly EntityKind[];
  bucketMs: number;
  /** Event time window (epoch ms), inclusive. */
  from: number;
  to?: number;
  /** Rows stored (ingested_at) in [storedFrom, storedBefore) (epoch ms). */
  storedFrom?: number;
  storedBefore?: number;
}

/**
 * Raw events of the last minutes summed per entity and sub-minute bucket, for the detector's fresh counters:
 * rebuilt after a restart, polled each tick when the detector runs apart from the collector, or read per tick by
 * replay. Each bucket keeps its three largest single costs (one expensive request is weighed apart).
 */
export function createFreshRepo(ch: ClickHouse) {
  const events = ch.table('usage_events');
  return {
    async buckets(q: FreshQuery): Promise<FreshRow[]> {
      if (q.kinds.length === 0) return [];
      const where = ['time >= {from:DateTime64(3)}'];
      const params: Record<string, unknown> = { kinds: q.kinds, bucket: q.bucketMs, from: chTime(q.from) };
      if (q.to !== undefined) {
        where.push('time <= {to:DateTime64(3)}');
        params.to = chTime(q.to);
      }
      if (q.storedFrom !== undefined) {
        where.push('ingested_at >= {stored:DateTime64(3)}');
        params.stored = chTime(q.storedFrom);
      }
      if (q.storedBefore !== undefined) {
        where.push('ingested_at < {before:DateTime64(3)}');
        params.before = chTime(q.storedBefore);
      }
      const rows = await ch.query<{ kind: EntityKind; entity: string; owner: string; start: string | number; r: string | number; x: string | number; t: string | number; c: number; top: number[] }>(
        `SELECT e.1 AS kind, e.2 AS entity, any(ev.tenant) AS owner,
                intDiv(toUnixTimestamp64Milli(time), {bucket:UInt32}) * {bucket:UInt32} AS start,
                sum(requests) AS r, sum(tool_calls) AS x, sum(input_tokens) + sum(output_tokens) AS t, sum(cost_usd) AS c,
                arraySlice(arrayReverseSort(groupArray(cost_usd)), 1, 3) AS top
         FROM (SELECT time, requests, tool_calls, input_tokens, output_tokens, cost_usd, service, api_key, user, tenant, agent, conversation FROM ${events} WHERE ${where.join(' AND ')}) AS ev
         ARRAY JOIN [('api_key', ev.api_key), ('user', ev.user), ('tenant', ev.tenant), ('agent', ev.agent), ('conversation', ev.conversation), ('service', ev.service)] AS e
         WHERE e.2 != '' AND e.1 IN {kinds:Array(String)}
         GROUP BY kind, entity, start
         ORDER BY start`,
        params,
        { tag: 'anomaly.fresh_buckets' },
      );
      return rows.map((r) => ({
        kind: r.kind,
        id: r.entity,
        tenant: r.kind === 'tenant' ? '' : r.owner,
        bucket: { start: Number(r.start), requests: Number(r.r), tool_calls: Number(r.x), tokens: Number(r.t), cost_usd: Number(r.c), top: r.top.map(Number) },
      }));
    },
  };
}
export type FreshRepo = ReturnType<typeof createFreshRepo>;
