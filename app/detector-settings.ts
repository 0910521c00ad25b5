import { resolveAnomalyConfig, type AnomalyConfig } from '../core/anomaly/index.ts';
import type { Config } from '../core/config/load.ts';
import type { DetectorSettings } from '../detector/jobs.ts';

/** The detection core's view of the `anomaly:` config block. */
export function anomalyConfig(config: Config): AnomalyConfig {
  const f = config.anomaly.floors;
  return resolveAnomalyConfig({
    scopes: config.anomaly.scopes,
    thresholds: config.anomaly.thresholds,
    criticalSpend: { multiple: config.anomaly.critical_spend.multiple, minUsdPerHour: config.anomaly.critical_spend.min_usd_per_hour },
    floors: {
      cost_usd_per_minute: f.cost_usd_per_minute,
      ...(f.tokens_per_minute !== undefined ? { tokens_per_minute: f.tokens_per_minute } : {}),
      ...(f.requests_per_minute !== undefined ? { requests_per_minute: f.requests_per_minute } : {}),
      ...(f.tool_calls_per_minute !== undefined ? { tool_calls_per_minute: f.tool_calls_per_minute } : {}),
    },
  });
}

/** Everything the detector's jobs decide with, from the config: the live loop and replay both take it from here. */
export function detectorSettings(config: Config): DetectorSettings {
  const a = config.anomaly;
  return {
    shadow: config.detector.shadow,
    anomaly: a.enabled
      ? { config: anomalyConfig(config), actions: a.actions, ttlMs: a.ttl, quietMs: a.quiet_period, maxEntitiesPerKind: a.max_entities, fresh: a.fresh.enabled ? { bucketMs: a.fresh.bucket, windowMs: a.fresh.window } : null }
      : null,
  };
}
