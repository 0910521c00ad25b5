import { buildBaseline } from '../../core/anomaly/baseline.ts';
import { METRICS } from '../../core/anomaly/types.ts';
import type { Baseline, Metric } from '../../core/anomaly/types.ts';

const HOUR = 3_600_000;

/** An api_key's baseline from 28 days of a steady hourly rate (requests per minute ±5 %, USD per request), ending the hour before `now`. */
export function steadyBaseline(id: string, perMin: number, usdPerReq: number, now: number): Baseline {
  const end = Math.floor(now / HOUR) * HOUR;
  const hourly = Object.fromEntries(METRICS.map((m) => [m, [] as number[]])) as Record<Metric, number[]>;
  for (let h = 0; h < 28 * 24; h++) {
    const req = perMin * 60 * (h % 2 === 0 ? 0.95 : 1.05);
    hourly.requests.push(req);
    hourly.cost_usd.push(req * usdPerReq);
    hourly.tokens.push(req * 1000);
    hourly.tool_calls.push(0);
  }
  return buildBaseline({ kind: 'api_key', id, hourStart: end - 28 * 24 * HOUR, hourly }, end);
}
