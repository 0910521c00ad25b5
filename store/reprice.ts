import type { PriceInput, PriceResult } from '../core/pricing/types.ts';
import type { ClickHouse } from './port.ts';
import { chTime, fromChTime } from './time.ts';

interface Row {
  event_id: string;
  time_text: string;
  provider: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  cost_usd: number;
  span_cost: number | null;
  cost_source: string;
  price_version: string;
}

export interface RepriceReport {
  scanned: number;
  changed: number;
  costBefore: number;
  costAfter: number;
  bySource: Record<string, number>;
}

const PAGE = 10_000;

/** Latest moment a re-rating may reach: later minutes may still receive spans while the rollup is rebuilt. */
export const REPRICE_SETTLE_MS = 5 * 60_000;

/**
 * Re-rates stored events in [from, to) with the current prices (`tollkeeper reprice`, docs/concepts/pricing.md): updates the raw events in
 * place (a mutation, which does not feed the rollup views) and then rebuilds the per-minute rollup of the range
 * from the raw events, so re-running it is harmless.
 */
export async function repriceRange(
  store: ClickHouse,
  pricer: { price(input: PriceInput): PriceResult },
  range: { from: number; to: number },
  o: { dryRun?: boolean; progress?: (scanned: number, changed: number) => void } = {},
): Promise<RepriceReport> {
  const events = store.table('usage_events');
  const report: RepriceReport = { scanned: 0, changed: 0, costBefore: 0, costAfter: 0, bySource: {} };
  let cursor = { time: chTime(range.from), id: '' };
  for (let page = 0; page < 1_000_000; page++) {
    const rows = await store.query<Row>(
      `SELECT event_id, toString(time) AS time_text, provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
              cost_usd, span_cost, cost_source, price_version
       FROM ${events} FINAL
       WHERE time < {to:DateTime64(3)} AND (time, event_id) > ({t:DateTime64(3)}, {id:String}) AND (input_tokens + output_tokens > 0 OR span_cost IS NOT NULL)
       ORDER BY time, event_id LIMIT {n:UInt32}`,
      { to: chTime(range.to), t: cursor.time, id: cursor.id, n: PAGE },
      { tag: 'reprice.scan' },
    );
    if (rows.length === 0) break;
    const costs: Record<string, number> = {};
    const sources: Record<string, string> = {};
    const versions: Record<string, string> = {};
    for (const r of rows) {
      const p = pricer.price({
        provider: r.provider,
        model: r.model,
        time: fromChTime(r.time_text),
        inputTokens: Number(r.input_tokens),
        outputTokens: Number(r.output_tokens),
        cacheReadTokens: Number(r.cache_read_tokens),
        cacheWriteTokens: Number(r.cache_write_tokens),
        reasoningTokens: Number(r.reasoning_tokens),
        spanCost: r.span_cost,
      });
      report.scanned++;
      report.costBefore += r.cost_usd;
      report.costAfter += p.costUsd;
      if (Math.abs(p.costUsd - r.cost_usd) > 1e-12 || p.costSource !== r.cost_source || p.priceVersion !== r.price_version) {
        costs[r.event_id] = p.costUsd;
        sources[r.event_id] = p.costSource;
        versions[r.event_id] = p.priceVersion;
        report.changed++;
        report.bySource[p.costSource] = (report.bySource[p.costSource] ?? 0) + 1;
      }
    }
    const ids = Object.keys(costs);
    if (ids.length > 0 && !o.dryRun) {
      await store.command(
        `ALTER TABLE ${events} UPDATE cost_usd = {c:Map(String, Float64)}[event_id], cost_source = {s:Map(String, String)}[event_id], price_version = {v:Map(String, String)}[event_id]
         WHERE event_id IN {ids:Array(String)} AND time >= {from:DateTime64(3)} AND time < {to:DateTime64(3)}`,
        { c: costs, s: sources, v: versions, ids, from: chTime(range.from), to: chTime(range.to) },
        { tag: 'reprice.update', settings: { mutations_sync: 2 } },
      );
    }
    const last = rows[rows.length - 1]!;
    cursor = { time: last.time_text, id: last.event_id };
    o.progress?.(report.scanned, report.changed);
  }
  if (report.changed > 0 && !o.dryRun) await rebuildRollup(store, range);
  return report;
}

/** Recomputes usage_minute for whole minutes of the range from the raw events, then usage_hour for whole hours (idempotent). */
export async function rebuildRollup(store: ClickHouse, range: { from: number; to: number }): Promise<void> {
  const lo = chTime(Math.floor(range.from / 60_000) * 60_000);
  const hi = chTime(Math.ceil(range.to / 60_000) * 60_000);
  const minute = store.table('usage_minute');
  await store.command(`ALTER TABLE ${minute} DELETE WHERE minute >= {lo:DateTime64(3)} AND minute < {hi:DateTime64(3)}`, { lo, hi }, { tag: 'rollup.rebuild', settings: { mutations_sync: 2 } });
  await store.command(
    `INSERT INTO ${minute}
     SELECT e.1 AS kind, e.2 AS entity, toStartOfMinute(time) AS minute, tenant, count(), sum(requests), sum(tool_calls), sum(input_tokens),
            sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(compute_seconds), sum(cost_usd),
            toInt64(sumIf(requests, cost_source = 'unpriced'))
     FROM (SELECT * FROM ${store.table('usage_events')} FINAL WHERE time >= {lo:DateTime64(3)} AND time < {hi:DateTime64(3)})
     ARRAY JOIN [('api_key', api_key), ('user', user), ('tenant', tenant), ('agent', agent), ('conversation', conversation), ('service', service)] AS e
     WHERE e.2 != ''
     GROUP BY kind, entity, minute, tenant`,
    { lo, hi },
    { tag: 'rollup.rebuild' },
  );
  await rebuildHourly(store, range);
}

/**
 * Recomputes usage_hour for every hour the range touches: the entity kinds from usage_minute (just rebuilt, so the
 * two rollups agree), the model kind from the raw events. Whole hours, so minutes outside the range but in those
 * hours are re-read too; that is harmless because the sources hold them already.
 */
async function rebuildHourly(store: ClickHouse, range: { from: number; to: number }): Promise<void> {
  const lo = chTime(Math.floor(range.from / 3_600_000) * 3_600_000);
  const hi = chTime(Math.ceil(range.to / 3_600_000) * 3_600_000);
  const hour = store.table('usage_hour');
  const sums = `sum(requests), sum(tool_calls), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
            sum(reasoning_tokens), sum(compute_seconds), sum(cost_usd)`;
  await store.command(`ALTER TABLE ${hour} DELETE WHERE hour >= {lo:DateTime64(3)} AND hour < {hi:DateTime64(3)}`, { lo, hi }, { tag: 'rollup.rebuild', settings: { mutations_sync: 2 } });
  await store.command(
    `INSERT INTO ${hour}
     SELECT kind, entity, toStartOfHour(minute) AS h, tenant, sum(events), ${sums}, sum(unpriced_requests)
     FROM ${store.table('usage_minute')} WHERE minute >= {lo:DateTime64(3)} AND minute < {hi:DateTime64(3)}
     GROUP BY kind, entity, h, tenant`,
    { lo, hi },
    { tag: 'rollup.rebuild' },
  );
  await store.command(
    `INSERT INTO ${hour}
     SELECT 'model', model, toStartOfHour(time) AS h, tenant, count(), ${sums}, toInt64(sumIf(requests, cost_source = 'unpriced'))
     FROM (SELECT * FROM ${store.table('usage_events')} FINAL WHERE time >= {lo:DateTime64(3)} AND time < {hi:DateTime64(3)} AND model != '')
     GROUP BY model, h, tenant`,
    { lo, hi },
    { tag: 'rollup.rebuild' },
  );
}
