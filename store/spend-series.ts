import type { ClickHouse } from './port.ts';

/** Spend of one entity per bucket from the per-minute rollup, oldest first, zeros where nothing was spent. */
export async function spendSeries(ch: ClickHouse, q: { kind: string; id: string; from: number; to: number; bucketMs: number }): Promise<number[]> {
  const n = Math.max(1, Math.ceil((q.to - q.from) / q.bucketMs));
  const rows = await ch.query<{ b: number; cost: number }>(
    `SELECT toInt32(intDiv(toUnixTimestamp(minute) - {from:Int64}, {bucket:Int64})) AS b, sum(cost_usd) AS cost
     FROM ${ch.table('usage_minute')}
     WHERE kind = {kind:String} AND entity = {id:String} AND minute >= {fromT:DateTime} AND minute < {toT:DateTime}
     GROUP BY b`,
    { kind: q.kind, id: q.id, from: Math.floor(q.from / 1000), bucket: Math.floor(q.bucketMs / 1000), fromT: Math.floor(q.from / 1000), toT: Math.ceil(q.to / 1000) },
    { tag: 'alerts.spend_series' },
  );
  const out = new Array<number>(n).fill(0);
  for (const r of rows) if (r.b >= 0 && r.b < n) out[r.b] = Number(r.cost);
  return out;
}
