import type { Metric } from '../core/anomaly/index.ts';
import type { IncidentRecord } from '../core/anomaly/step.ts';
import type { EntityKind } from '../core/usage/types.ts';
import { chTime, fromChTime } from './time.ts';

/** An incident as stored (core/anomaly/step.ts decides its action and shadow flag). */
export type IncidentRow = IncidentRecord;

/** What GET /api/incidents filters on; the store and its in-memory twin read it the same way. */
export interface IncidentFilter {
  status?: 'open' | 'resolved';
  kind?: string;
  entity?: string;
  pattern?: string;
  severity?: string;
  /** Started at or after (epoch ms). */
  from?: number;
  /** Started before (epoch ms). */
  to?: number;
  limit: number;
}

const orNull = (v: number | undefined): number | null => (v === undefined || !Number.isFinite(v) ? null : v);

/** The `incidents` row of one incident version. */
export function incidentToRow(i: IncidentRow, version: number): Record<string, unknown> {
  return {
    id: i.id,
    version,
    kind: i.kind,
    entity: i.entityId,
    tenant: i.tenant,
    pattern: i.pattern,
    severity: i.severity,
    score: i.score,
    metric: i.metric,
    observed: i.observed,
    expected: i.expected,
    expected_spread: i.expectedSpread,
    started_at: chTime(i.startedAt),
    detected_at: chTime(i.detectedAt),
    updated_at: chTime(i.updatedAt),
    resolved_at: i.resolvedAt === null ? null : chTime(i.resolvedAt),
    window_start: chTime(i.windowStart),
    window_end: chTime(i.windowEnd),
    explanation: i.explanation,
    action: i.action,
    shadow: i.shadow ? 1 : 0,
    spend_usd: orNull(i.spendUsd),
    usual_hourly_usd: orNull(i.usualHourlyUsd),
    // A projection can be infinite in principle (no calls counted yet); the column keeps only real numbers.
    projected_hourly_usd: orNull(i.projectedHourlyUsd),
    enforced_at: i.enforcedAt === undefined || i.enforcedAt === null ? null : chTime(i.enforcedAt),
  };
}

const present = (v: unknown): boolean => v !== null && v !== undefined;

/** An incident from its stored row; the money columns are absent on incidents stored before they existed. */
export function incidentFromRow(r: Record<string, unknown>): IncidentRow {
  const t = (k: string) => fromChTime(String(r[k]));
  return {
    id: String(r.id),
    kind: r.kind as EntityKind,
    entityId: String(r.entity),
    tenant: String(r.tenant),
    pattern: r.pattern as IncidentRow['pattern'],
    severity: r.severity as IncidentRow['severity'],
    score: Number(r.score),
    metric: r.metric as Metric,
    observed: Number(r.observed),
    expected: Number(r.expected),
    expectedSpread: Number(r.expected_spread),
    startedAt: t('started_at'),
    detectedAt: t('detected_at'),
    updatedAt: t('updated_at'),
    resolvedAt: present(r.resolved_at) ? t('resolved_at') : null,
    windowStart: t('window_start'),
    windowEnd: t('window_end'),
    explanation: String(r.explanation),
    action: String(r.action),
    shadow: Number(r.shadow) === 1,
    ...(present(r.spend_usd) ? { spendUsd: Number(r.spend_usd) } : {}),
    ...(present(r.usual_hourly_usd) ? { usualHourlyUsd: Number(r.usual_hourly_usd) } : {}),
    ...(present(r.projected_hourly_usd) ? { projectedHourlyUsd: Number(r.projected_hourly_usd) } : {}),
    // Only a stored enforcement time says anything: an incident from before the column existed stays undecided.
    ...(present(r.enforced_at) ? { enforcedAt: t('enforced_at') } : present(r.spend_usd) ? { enforcedAt: null } : {}),
  };
}

/** Whether an incident passes a filter (the in-memory twin's WHERE clause). */
export function matchesIncidentFilter(i: IncidentRow, f: IncidentFilter): boolean {
  if (f.status === 'open' && i.resolvedAt !== null) return false;
  if (f.status === 'resolved' && i.resolvedAt === null) return false;
  if (f.kind !== undefined && i.kind !== f.kind) return false;
  if (f.entity !== undefined && i.entityId !== f.entity) return false;
  if (f.pattern !== undefined && i.pattern !== f.pattern) return false;
  if (f.severity !== undefined && i.severity !== f.severity) return false;
  if (f.from !== undefined && i.startedAt < f.from) return false;
  if (f.to !== undefined && i.startedAt >= f.to) return false;
  return true;
}
