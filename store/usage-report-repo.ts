import type { ClickHouse } from './port.ts';
import { chTime } from './time.ts';

export interface UnpricedModel {
  provider: string;
  model: string;
  requests: number;
  events: number;
  /** RFC 3339. */
  first_seen: string;
  last_seen: string;
}

const rfc3339 = (chText: string) => chText.replace(' ', 'T') + 'Z';

/** Read-only usage reports for operators, over the raw events. */
export function createUsageReportRepo(ch: ClickHouse) {
  return {
    /** Usage that could not be priced in [from, to), per provider and model, most requests first. */
    async unpricedByModel(range: { from: number; to: number }): Promise<UnpricedModel[]> {
      const rows = await ch.query<{ provider: string; model: string; requests: number | string; events: number | string; first_seen: string; last_seen: string }>(
        `SELECT provider, model, sum(requests) AS requests, count() AS events, toString(min(time)) AS first_seen, toString(max(time)) AS last_seen
         FROM ${ch.table('usage_events')} WHERE cost_source = 'unpriced' AND time >= {from:DateTime64(3)} AND time < {to:DateTime64(3)}
         GROUP BY provider, model ORDER BY requests DESC LIMIT 1000`,
        { from: chTime(range.from), to: chTime(range.to) },
        { tag: 'api.unpriced' },
      );
      return rows.map((r) => ({ provider: r.provider, model: r.model, requests: Number(r.requests), events: Number(r.events), first_seen: rfc3339(r.first_seen), last_seen: rfc3339(r.last_seen) }));
    },
  };
}
export type UsageReportRepo = ReturnType<typeof createUsageReportRepo>;
