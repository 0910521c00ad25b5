import { ENTITY_KINDS } from '../core/usage/types.ts';
import type { PeriodWindow } from '../core/quota/period.ts';
import { DIMENSIONS, type Policy, type Usage } from '../core/quota/policy.ts';
import type { EntityUsage } from '../core/quota/evaluate.ts';
import type { ClickHouse } from './port.ts';
import { chTime } from './time.ts';

const KIND_COLUMN: Record<string, string> = { api_key: 'api_key', user: 'user', tenant: 'tenant', agent: 'agent', conversation: 'conversation', service: 'service' };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const EVENT_COLUMNS = new Set(['api_key', 'user', 'tenant', 'agent', 'conversation', 'service', 'model', 'provider', 'operation', 'family', 'tool_name']);

/** Dimension sums over rows that carry the usage_minute / usage_events column names (aliases prefixed: an alias
 * equal to a column name would shadow the column inside the next sum). */
const SUMS = `
  sum(input_tokens) AS q_input_tokens, sum(output_tokens) AS q_output_tokens, sum(reasoning_tokens) AS q_reasoning_tokens,
  sum(cache_read_tokens) AS q_cached_tokens, sum(cache_write_tokens) AS q_cache_write_tokens,
  q_input_tokens + q_output_tokens AS q_tokens, sum(cost_usd) AS q_cost_usd, sum(requests) AS q_requests,
  sum(tool_calls) AS q_tool_calls, sum(compute_seconds) / 3600 AS q_compute_hours, sum(unpriced) AS q_unpriced_requests`;

type Row = Record<`q_${(typeof DIMENSIONS)[number]}` | 'q_unpriced_requests', number> & { entity: string; q_tenant: string };

function toUsage(r: Row): Usage {
  return Object.fromEntries(DIMENSIONS.map((d) => [d, Number(r[`q_${d}`])])) as Usage;
}

/** Reads usage per entity for quota evaluation and status. */
export function createQuotaRepo(ch: ClickHouse) {
  const minute = ch.table('usage_minute');
  const hour = ch.table('usage_hour');
  const events = ch.table('usage_events');

  /**
   * A plain entity-kind policy reads a rollup: the hourly one for a window of whole UTC hours a day or longer (days,
   * weeks, months, billing cycles in whole-hour zones), else the per-minute one. Match selectors and attribute
   * scopes read raw events. Both rollups sum the same events, so the choice changes the cost, not the figures.
   */
  function source(policy: Policy, window: PeriodWindow, params: Record<string, unknown>): { from: string; entity: string; where: string[]; time: string } {
    const isKind = (ENTITY_KINDS as readonly string[]).includes(policy.scope);
    if (isKind && Object.keys(policy.match).length === 0) {
      params.kind = policy.scope;
      if (window.start % HOUR === 0 && window.end % HOUR === 0 && window.end - window.start >= DAY) {
        return {
          from: `(SELECT *, unpriced_requests AS unpriced FROM ${hour})`,
          entity: 'entity',
          where: ['kind = {kind:String}', 'hour >= {lo:DateTime64(3)}', 'hour < {hi:DateTime64(3)}'],
          time: 'hour',
        };
      }
      return {
        from: `(SELECT *, unpriced_requests AS unpriced FROM ${minute})`,
        entity: 'entity',
        where: ['kind = {kind:String}', 'minute >= toStartOfMinute({lo:DateTime64(3)})', 'minute < {hi:DateTime64(3)}'],
        time: 'minute',
      };
    }
    const where = ['time >= {lo:DateTime64(3)}', 'time < {hi:DateTime64(3)}'];
    let i = 0;
    for (const [k, v] of Object.entries(policy.match)) {
      params[`mv${i}`] = v;
      if (EVENT_COLUMNS.has(k)) {
        params[`mc${i}`] = k;
        where.push(`{mc${i}:Identifier} = {mv${i}:String}`);
      } else {
        params[`mk${i}`] = k;
        where.push(`attributes[{mk${i}:String}] = {mv${i}:String}`);
      }
      i++;
    }
    let entity: string;
    if (isKind) {
      params.scopeCol = KIND_COLUMN[policy.scope];
      entity = '{scopeCol:Identifier}';
    } else {
      params.scopeAttr = policy.scope;
      entity = 'attributes[{scopeAttr:String}]';
    }
    where.push(`${entity} != ''`);
    return { from: `(SELECT *, if(cost_source = 'unpriced', requests, 0) AS unpriced FROM ${events})`, entity, where, time: 'time' };
  }

  return {
    async usageByEntity(policy: Policy, window: PeriodWindow, entity?: string): Promise<(EntityUsage & { unpricedRequests: number })[]> {
      const params: Record<string, unknown> = { lo: chTime(window.start), hi: chTime(window.end) };
      const s = source(policy, window, params);
      if (entity !== undefined) {
        params.entity = entity;
        s.where.push(`${s.entity} = {entity:String}`);
      }
      const rows = await ch.query<Row>(
        // The tenant the entity last used (alerts name it, and email routes per tenant match on it).
        `SELECT ${s.entity} AS entity, ${SUMS}, argMaxIf(tenant, ${s.time}, tenant != '') AS q_tenant FROM ${s.from} WHERE ${s.where.join(' AND ')} GROUP BY entity`,
        params,
        { tag: `quota.usage ${policy.name}` },
      );
      return rows.map((r) => ({ entity: r.entity, usage: toUsage(r), unpricedRequests: Number(r.q_unpriced_requests), ...(r.q_tenant ? { tenant: r.q_tenant } : {}) }));
    },
  };
}
export type QuotaRepo = ReturnType<typeof createQuotaRepo>;
