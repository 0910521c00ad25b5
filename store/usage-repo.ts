import type { UsageEvent } from '../core/usage/types.ts';
import type { ClickHouse } from './port.ts';
import { chTime } from './time.ts';

function toRow(e: UsageEvent): Record<string, unknown> {
  return {
    event_id: e.eventId,
    trace_id: e.traceId,
    span_id: e.spanId,
    parent_span_id: e.parentSpanId,
    time: chTime(e.time),
    start_time: chTime(e.startTime),
    service: e.service,
    api_key: e.apiKey,
    user: e.user,
    tenant: e.tenant,
    agent: e.agent,
    conversation: e.conversation,
    attributes: e.attributes,
    family: e.family,
    provider: e.provider,
    model: e.model,
    operation: e.operation,
    span_name: e.spanName,
    input_tokens: e.inputTokens,
    output_tokens: e.outputTokens,
    cache_read_tokens: e.cacheReadTokens,
    cache_write_tokens: e.cacheWriteTokens,
    reasoning_tokens: e.reasoningTokens,
    requests: e.requests,
    tool_calls: e.toolCalls,
    tool_name: e.toolName,
    compute_seconds: e.computeSeconds,
    cost_usd: e.costUsd,
    span_cost: e.spanCost,
    cost_source: e.costSource,
    price_version: e.priceVersion,
  };
}

/** Raw usage events: the collector's writes and the reads that need single events. */
export function createUsageRepo(ch: ClickHouse) {
  const events = ch.table('usage_events');
  return {
    async insert(batch: readonly UsageEvent[]): Promise<void> {
      await ch.insert('usage_events', batch.map(toRow), { tag: 'collector.insert' });
    },
    /** Which of these ids are stored already; the time bounds let ClickHouse skip partitions. */
    async existingIds(ids: readonly string[], minTime: number, maxTime: number): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await ch.query<{ event_id: string }>(
        `SELECT DISTINCT event_id FROM ${events} WHERE time BETWEEN {lo:DateTime64(3)} AND {hi:DateTime64(3)} AND event_id IN {ids:Array(String)}`,
        { lo: chTime(minTime), hi: chTime(maxTime), ids },
        { tag: 'collector.dedupe' },
      );
      return new Set(rows.map((r) => r.event_id));
    },
    /** Latest event time stored (epoch ms), or -Infinity when there is none. */
    async maxTime(): Promise<number> {
      const rows = await ch.query<{ n: number; t: number }>(`SELECT count() AS n, toUnixTimestamp64Milli(max(time)) AS t FROM ${events}`, undefined, { tag: 'collector.max_time' });
      return rows[0] && Number(rows[0].n) > 0 ? Number(rows[0].t) : -Infinity;
    },
    async count(): Promise<number> {
      const rows = await ch.query<{ n: number }>(`SELECT count() AS n FROM ${events} FINAL`);
      return rows[0]?.n ?? 0;
    },
  };
}
export type UsageRepo = ReturnType<typeof createUsageRepo>;
