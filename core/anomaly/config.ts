import type { EntityKind } from '../usage/types.ts';
import type { AnomalyConfig, AnomalyFloors, AnomalyTuning, CriticalSpend, Metric } from './types.ts';

/** Defaults chosen against the labelled scenarios in test/helpers/traffic-sim.ts (see core/anomaly/README.md). */
export const DEFAULT_TUNING: AnomalyTuning = {
  relativeError: 0.15,
  dispersion: { cost_usd: 3, tokens: 3, requests: 1.5, tool_calls: 1.5 },
  minActiveHours: 6,
  hysteresisMs: 3 * 60_000,
  hysteresis: 0.75,
  burst: { windowsMin: [1, 2, 5], minRatio: 4, minEvents: 3, metrics: ['cost_usd', 'tokens', 'requests'], scheduledRatio: 3 },
  runaway: {
    kinds: ['agent', 'conversation', 'api_key'],
    windowMin: 10,
    maxCv: 0.35,
    maxCvVsPoisson: 0.5,
    minRatio: 3,
    minPerMinute: 3,
    metrics: ['requests', 'tool_calls'],
  },
  slowDrip: { allowance: 0.5, minMinutes: 60, minRatio: 1.6, relativeError: 0.1, recentMin: 15, metrics: ['cost_usd', 'tokens', 'requests'] },
  tenantSpike: { windowsMin: [2, 5], minRatio: 2, explainedShare: 0.5, metrics: ['cost_usd', 'tokens', 'requests'] },
  reset: { graceMin: 15, maxCatchUpMin: 60 },
  sequential: { alternatives: [2, 4, 10, 30], threshold: 10, capUnits: 4, levelZ: 2, dispersion: { cost_usd: 2, requests: 1.2 }, metrics: ['cost_usd', 'requests'], lumpShare: 0.5, recentMin: 2, minEvents: 2, broadThreshold: 8, broadShare: 0.5, broadMinKeys: 3, dripMultiple: 3, dripKinds: ['api_key', 'user', 'service', 'conversation'] },
};

export const DEFAULT_SCOPES: EntityKind[] = ['api_key', 'tenant', 'agent'];
export const DEFAULT_THRESHOLDS = { warning: 4, critical: 8 } as const;
export const DEFAULT_FLOORS: AnomalyFloors = { cost_usd_per_minute: 0.05 };
/** Critical when the next hour at the current rate would cost over 20× the usual hour and over $5. */
export const DEFAULT_CRITICAL_SPEND: CriticalSpend = { multiple: 20, minUsdPerHour: 5 };

export type DeepPartialTuning = { [K in keyof AnomalyTuning]?: AnomalyTuning[K] extends object ? Partial<AnomalyTuning[K]> : AnomalyTuning[K] };

export interface AnomalyConfigInput {
  scopes?: EntityKind[];
  thresholds?: Partial<AnomalyConfig['thresholds']>;
  floors?: Partial<AnomalyFloors>;
  criticalSpend?: Partial<CriticalSpend>;
  tuning?: DeepPartialTuning;
}

/** Fill an `anomaly:` config block (docs/configuration.md) with defaults; throws on nonsensical thresholds. */
export function resolveAnomalyConfig(input: AnomalyConfigInput = {}): AnomalyConfig {
  const t = input.tuning ?? {};
  const d = DEFAULT_TUNING;
  const tuning: AnomalyTuning = {
    relativeError: t.relativeError ?? d.relativeError,
    dispersion: { ...d.dispersion, ...t.dispersion },
    minActiveHours: t.minActiveHours ?? d.minActiveHours,
    hysteresisMs: t.hysteresisMs ?? d.hysteresisMs,
    hysteresis: t.hysteresis ?? d.hysteresis,
    burst: { ...d.burst, ...t.burst },
    runaway: { ...d.runaway, ...t.runaway },
    slowDrip: { ...d.slowDrip, ...t.slowDrip },
    tenantSpike: { ...d.tenantSpike, ...t.tenantSpike },
    reset: { ...d.reset, ...t.reset },
    sequential: { ...d.sequential, ...t.sequential, dispersion: { ...d.sequential.dispersion, ...t.sequential?.dispersion } },
  };
  const thresholds = { ...DEFAULT_THRESHOLDS, ...input.thresholds };
  if (!(thresholds.warning > 0 && thresholds.critical >= thresholds.warning)) {
    throw new RangeError(`anomaly.thresholds: need 0 < warning <= critical, got ${thresholds.warning}/${thresholds.critical}`);
  }
  const floors: AnomalyFloors = { ...DEFAULT_FLOORS };
  for (const [k, v] of Object.entries(input.floors ?? {})) if (v !== undefined) (floors as unknown as Record<string, number>)[k] = v;
  const criticalSpend = { ...DEFAULT_CRITICAL_SPEND, ...input.criticalSpend };
  if (!(criticalSpend.multiple >= 1 && criticalSpend.minUsdPerHour >= 0)) {
    throw new RangeError(`anomaly.critical_spend: need multiple >= 1 and min_usd_per_hour >= 0, got ${criticalSpend.multiple}/${criticalSpend.minUsdPerHour}`);
  }
  return { scopes: input.scopes ?? [...DEFAULT_SCOPES], thresholds, floors, criticalSpend, tuning };
}

/** The configured floor for one metric, in units per minute (undefined: no floor of its own). */
export function floorFor(floors: AnomalyFloors, metric: Metric): number | undefined {
  switch (metric) {
    case 'cost_usd':
      return floors.cost_usd_per_minute;
    case 'tokens':
      return floors.tokens_per_minute;
    case 'requests':
      return floors.requests_per_minute;
    case 'tool_calls':
      return floors.tool_calls_per_minute;
  }
}
