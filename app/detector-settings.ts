import { resolveAnomalyConfig, type AnomalyConfig } from '../core/anomaly/index.ts';
import type { Config } from '../core/config/load.ts';

/** The detection core's view of the `anomaly:` config block. */
export function anomalyConfig(config: Config): AnomalyConfig {
  const f = config.anomaly.floors;
  return resolveAnomalyConfig({
    scopes: config.anomaly.scopes,
    thresholds: config.anomaly.thresholds,
    floors: {
      cost_usd_per_minute: f.cost_usd_per_minute,
      ...(f.tokens_per_minute !== undefined ? { tokens_per_minute: f.tokens_per_minute } : {}),
      ...(f.requests_per_minute !== undefined ? { requests_per_minute: f.requests_per_minute } : {}),
      ...(f.tool_calls_per_minute !== undefined ? { tool_calls_per_minute: f.tool_calls_per_minute } : {}),
    },
  });
}
