import type { EntityKind } from '../usage/types.ts';

export const METRICS = ['cost_usd', 'tokens', 'requests', 'tool_calls'] as const;
export type Metric = (typeof METRICS)[number];

export const PATTERNS = ['burst', 'runaway_loop', 'slow_drip', 'tenant_spike'] as const;
export type Pattern = (typeof PATTERNS)[number];

export type Severity = 'warning' | 'critical';

/** Per-minute totals, oldest → newest; the last element is the current, partial minute. */
export interface EntityObservation {
  kind: EntityKind;
  id: string;
  /** Tenant the entity belongs to; '' if none (and for tenants themselves). */
  tenant: string;
  /** Epoch ms of the FIRST element (a minute boundary). */
  minuteStart: number;
  /** Typically the last 360 minutes; all metrics have the same length. */
  series: Record<Metric, number[]>;
}

/** Hourly totals of the entity's longer history, oldest → newest, ending at the hour before the current one. */
export interface EntityHistory {
  kind: EntityKind;
  id: string;
  /** Epoch ms of the first hour (an hour boundary). */
  hourStart: number;
  hourly: Record<Metric, number[]>;
}

/** Robust location and spread of a per-minute rate. */
export interface SlotStat {
  /** Median per-minute rate, projected to the baseline's build time when a trend was found. */
  mean: number;
  /** Robust σ of the hourly per-minute rate in this slot (MAD × 1.4826); informational, scoring uses `relSpread`. */
  spread: number;
  /** Number of hourly samples behind the numbers. */
  n: number;
}

export interface MetricBaseline {
  /** Median over hours with activity: what a busy hour normally looks like. */
  typical: SlotStat;
  /** Hour-of-day (UTC) slots, null when fewer than `minSlotSamples` samples. */
  hourOfDay: (SlotStat | null)[];
  /** Hour-of-week slots (0 = Monday 00:00 UTC), null when fewer than `minSlotSamples` samples. */
  hourOfWeek: (SlotStat | null)[];
  /** Pooled robust σ of an hour around its slot's median, as a fraction of that median. */
  relSpread: number;
  /** Robust log-growth per day found in the history (0 when none or too little history). */
  trendPerDay: number;
  /** Typical size of one request in this metric (e.g. USD per request); 1 for counts. Drives the noise model. */
  unit: number;
}

/** Per-entity baseline built once per hour from its history; plain JSON, safe to cache. */
export interface Baseline {
  kind: EntityKind;
  id: string;
  builtAt: number;
  historyHours: number;
  /** Hours with any requests, cost or tokens. Few active hours → the peer baseline is used too. */
  activeHours: number;
  metrics: Record<Metric, MetricBaseline>;
}

/** What entities of one kind normally do, for entities with little history of their own. */
export interface PeerBaseline {
  kind: EntityKind;
  peers: number;
  /** `median`: what the middle peer does (money at risk compares a new entity with it); absent in older caches. */
  metrics: Record<Metric, { typical: number; spread: number; unit: number; median?: number }>;
}

export interface Finding {
  kind: EntityKind;
  id: string;
  tenant: string;
  pattern: Pattern;
  severity: Severity;
  /** Robust z-like score: excess over expected in units of its spread. */
  score: number;
  metric: Metric;
  /** Total of `metric` over [windowStart, windowEnd]. */
  observed: number;
  /** Expected total over the same window. */
  expected: number;
  /** One robust σ of that expected total. */
  expectedSpread: number;
  windowStart: number;
  windowEnd: number;
  explanation: string;
  /** Spend over the next hour at the scored window's rate (USD); absent when the finding was not priced. */
  projectedHourlyUsd?: number;
  /** The entity's usual hourly spend it was compared with (own, peers' or floor; USD). */
  usualHourlyUsd?: number;
}

/** Money at risk that makes a finding critical: projected hour above both `multiple` × usual and `minUsdPerHour`. */
export interface CriticalSpend {
  multiple: number;
  minUsdPerHour: number;
}

/** Tuning knobs with defaults in `DEFAULT_TUNING`; every field is optional in config. */
export interface AnomalyTuning {
  /** Relative model error always allowed around an expectation. */
  relativeError: number;
  /** Over-dispersion of the per-minute noise relative to Poisson (per metric). */
  dispersion: Record<Metric, number>;
  /** Entities with fewer active hours than this also use the peer baseline. */
  minActiveHours: number;
  /** While a (entity, pattern) was seen within this long, the warning threshold is lowered by `hysteresis`. */
  hysteresisMs: number;
  hysteresis: number;
  burst: { windowsMin: number[]; minRatio: number; minEvents: number; metrics: Metric[]; scheduledRatio: number };
  runaway: { kinds: EntityKind[]; windowMin: number; maxCv: number; maxCvVsPoisson: number; minRatio: number; minPerMinute: number; metrics: Metric[] };
  /** `recentMin`: the run is over once its last this many minutes are nearer the usual rate than the run's own. */
  slowDrip: { allowance: number; minMinutes: number; minRatio: number; relativeError: number; recentMin: number; metrics: Metric[] };
  tenantSpike: { windowsMin: number[]; minRatio: number; explainedShare: number; metrics: Metric[] };
  /** After a quota period reset, held-back demand (up to `maxCatchUpMin` minutes of the usual rate) may be spent at once. */
  reset: { graceMin: number; maxCatchUpMin: number };
  /** Sequential tests on the fresh sub-minute buckets (core/anomaly/sequential.ts). */
  sequential: SequentialTuning;
}

/** The fresh path's Poisson CUSUMs: what they test, when they alarm, how much one event may weigh. */
export interface SequentialTuning {
  /** Rate multiples tested (one CUSUM each). */
  alternatives: number[];
  /** Log-likelihood ratio at which a run becomes a finding. */
  threshold: number;
  /** One event weighs at most this many usual events (cost). */
  capUnits: number;
  /** The expectation is raised by this many σ of its level before testing. */
  levelZ: number;
  /** Quasi-Poisson over-dispersion per metric tested. */
  dispersion: Partial<Record<Metric, number>>;
  metrics: Metric[];
  /** Against its own history, a run must already have cost this share of a usual hour before money makes it critical. */
  lumpShare: number;
  /** A run counts only while its statistic has not fallen over its last this many minutes (the attack goes on). */
  recentMin: number;
  /** Fewest requests + tool calls a run needs (one event, however expensive, is never enough). */
  minEvents: number;
  /**
   * Log-likelihood ratio at which a tenant's run becomes a finding when the rise is broad: at least `broadShare` of
   * its active api_keys, and at least `broadMinKeys`, above their own expectation over the run. Such a finding only
   * warns unless its money at risk is large, so it may take less evidence than `threshold`.
   */
  broadThreshold: number;
  broadShare: number;
  broadMinKeys: number;
  /**
   * The drip test: one more CUSUM at this rate multiple against the plain expectation (not raised by its level σ
   * or the model error; only counting noise), for the kinds in `dripKinds`. A modest sustained rise of a small key
   * (3–4× of a call a minute) gains evidence fast enough to show within 15 minutes; the multiple is high enough that
   * a level a few tens of percent above the baseline drifts down, not up. 0: off.
   */
  dripMultiple: number;
  dripKinds: EntityKind[];
}

export interface AnomalyFloors {
  cost_usd_per_minute: number;
  tokens_per_minute?: number;
  requests_per_minute?: number;
  tool_calls_per_minute?: number;
}

/** The `anomaly:` config block (docs/configuration.md#anomaly) as far as detection needs it (actions are enforcement's business). */
export interface AnomalyConfig {
  scopes: EntityKind[];
  thresholds: { warning: number; critical: number };
  floors: AnomalyFloors;
  criticalSpend: CriticalSpend;
  tuning: AnomalyTuning;
}

/** Serializable detector memory: only what hysteresis needs; everything else is recomputed from the series. */
export interface DetectorState {
  version: 1;
  /** `${kind}\u0000${id}\u0000${pattern}` → last time a finding was emitted (epoch ms). */
  active: Record<string, number>;
}

export interface Incident {
  /** Stable: derived from kind, entity id, pattern and startedAt. */
  id: string;
  kind: EntityKind;
  entityId: string;
  tenant: string;
  pattern: Pattern;
  severity: Severity;
  score: number;
  metric: Metric;
  observed: number;
  expected: number;
  expectedSpread: number;
  startedAt: number;
  detectedAt: number;
  updatedAt: number;
  resolvedAt: number | null;
  windowStart: number;
  windowEnd: number;
  explanation: string;
  projectedHourlyUsd?: number;
  usualHourlyUsd?: number;
  /** Spend (USD) from the incident's onset until its enforcement (first critical tick), or until now before that. */
  spendUsd?: number;
  /** When the incident first turned critical (its action applied); null while it only warns. */
  enforcedAt?: number | null;
}
