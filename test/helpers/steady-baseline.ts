import { buildBaseline } from '../../core/anomaly/baseline.ts';
import { METRICS } from '../../core/anomaly/types.ts';
import type { Baseline, EntityObservation, Metric } from '../../core/anomaly/types.ts';
import type { EntityKind } from '../../core/usage/types.ts';

const HOUR = 3_600_000;

/** An entity's baseline (an api_key's by default) from 28 days of a steady hourly rate (requests per minute ±5 %, USD per request), ending the hour before `now`. */
export function steadyBaseline(id: string, perMin: number, usdPerReq: number, now: number, kind: EntityKind = 'api_key'): Baseline {
  const end = Math.floor(now / HOUR) * HOUR;
  const hourly = Object.fromEntries(METRICS.map((m) => [m, [] as number[]])) as Record<Metric, number[]>;
  for (let h = 0; h < 28 * 24; h++) {
    const req = perMin * 60 * (h % 2 === 0 ? 0.95 : 1.05);
    hourly.requests.push(req);
    hourly.cost_usd.push(req * usdPerReq);
    hourly.tokens.push(req * 1000);
    hourly.tool_calls.push(0);
  }
  return buildBaseline({ kind, id, hourStart: end - 28 * 24 * HOUR, hourly }, end);
}

/**
 * An hourly batch job: 8 calls at $0.05 in minute 10 of every hour ($0.40/h), as the six hours of minute series up
 * to `now` (the current minute included) and as its 28-day baseline.
 */
export function hourlyBatch(now: number): { o: EntityObservation; baseline: Baseline } {
  const MIN = 60_000;
  const cur = Math.floor(now / MIN) * MIN;
  const series = Object.fromEntries(METRICS.map((m) => [m, [] as number[]])) as Record<Metric, number[]>;
  for (let i = -359; i <= 0; i++) {
    const batch = new Date(cur + i * MIN).getUTCMinutes() === 10 ? 8 : 0;
    series.requests.push(batch);
    series.cost_usd.push(batch * 0.05);
    series.tokens.push(batch * 1000);
    series.tool_calls.push(0);
  }
  const end = Math.floor(now / HOUR) * HOUR;
  const hourly = Object.fromEntries(METRICS.map((m) => [m, new Array<number>(28 * 24).fill(0)])) as Record<Metric, number[]>;
  hourly.requests.fill(8);
  hourly.cost_usd.fill(0.4);
  hourly.tokens.fill(8000);
  return {
    o: { kind: 'api_key', id: 'batch', tenant: 't', minuteStart: cur - 359 * MIN, series },
    baseline: buildBaseline({ kind: 'api_key', id: 'batch', hourStart: end - 28 * 24 * HOUR, hourly }, end),
  };
}
