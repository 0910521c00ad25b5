/** Public API of the denial-of-wallet detection core (pure: no I/O, time is a parameter). */
export { buildBaseline, entityKey, hourOfDay, hourOfWeek } from './baseline.ts';
export type { BaselineOptions } from './baseline.ts';
export { buildPeerBaseline, peerBaselineFromObservations } from './peers.ts';
export type { PeerOptions } from './peers.ts';
export { DEFAULT_CRITICAL_SPEND, DEFAULT_FLOORS, DEFAULT_SCOPES, DEFAULT_THRESHOLDS, DEFAULT_TUNING, resolveAnomalyConfig } from './config.ts';
export type { AnomalyConfigInput } from './config.ts';
export { detect, emptyDetectorState } from './detect.ts';
export { addFresh, capFresh, createFreshCounters, mergeFresh, pruneFresh } from './fresh-counters.ts';
export type { FreshBucket, FreshCounters, FreshEvent, FreshSeries } from './fresh-counters.ts';
export type { FreshInput } from './fresh-findings.ts';
export { llrScore, sequentialTest } from './sequential.ts';
export type { SequentialParams, SequentialRun } from './sequential.ts';
export type { DetectInput, DetectResult } from './detect.ts';
export { DEFAULT_RECONCILE, incidentId, reconcileIncidents } from './incidents.ts';
export type { ReconcileOptions, ReconcileResult } from './incidents.ts';
export { moneyAtRisk, recordSpend, severityByMoney, spendSince } from './money.ts';
export type { MoneyAtRisk } from './money.ts';
export { replayDetection } from './replay.ts';
export type { ReplayIncident, ReplayResult, ReplayTick } from './replay.ts';
export { robustScore, severityFor } from './score.ts';
export { METRICS, PATTERNS } from './types.ts';
export type {
  AnomalyConfig,
  AnomalyFloors,
  AnomalyTuning,
  CriticalSpend,
  Baseline,
  DetectorState,
  EntityHistory,
  EntityObservation,
  Finding,
  Incident,
  Metric,
  MetricBaseline,
  Pattern,
  SequentialTuning,
  PeerBaseline,
  Severity,
  SlotStat,
} from './types.ts';
