import { createHash } from 'node:crypto';
import type { EntityKind } from '../usage/types.ts';
import type { Finding, Incident, Pattern, Severity } from './types.ts';

export interface ReconcileOptions {
  /** An open incident resolves after this long without a finding (default 2 min). */
  quietMs: number;
  /**
   * Entity+patterns still anomalous but explained by another pattern this tick (`detect`'s `held`): their open
   * incidents are kept open (seen now, numbers unchanged), never opened by this alone.
   */
  held: readonly { kind: EntityKind; id: string; pattern: Pattern }[];
}

export const DEFAULT_RECONCILE: ReconcileOptions = { quietMs: 120_000, held: [] };

export interface ReconcileResult {
  opened: Incident[];
  updated: Incident[];
  resolved: Incident[];
  /** The open set after this call (unchanged incidents included), ready for the next call. */
  open: Incident[];
}

/** Deterministic incident id: the same entity, pattern and start re-derived after a restart give the same id. */
export function incidentId(kind: EntityKind, entityId: string, pattern: Pattern, startedAt: number): string {
  const h = createHash('sha256').update(`${kind}\u0000${entityId}\u0000${pattern}\u0000${startedAt}`).digest('hex');
  return `inc_${h.slice(0, 24)}`;
}

const RANK: Record<Severity, number> = { warning: 1, critical: 2 };
const keyOf = (kind: string, id: string, pattern: string): string => `${kind}\u0000${id}\u0000${pattern}`;

/** Incident time starts on a whole minute so re-derived onsets agree (findings' windows start on minutes or at `now`). */
function minuteFloor(t: number): number {
  return Math.floor(t / 60_000) * 60_000;
}

function fromFinding(f: Finding, now: number): Incident {
  const startedAt = minuteFloor(Math.min(f.windowStart, now));
  return {
    id: incidentId(f.kind, f.id, f.pattern, startedAt),
    kind: f.kind,
    entityId: f.id,
    tenant: f.tenant,
    pattern: f.pattern,
    severity: f.severity,
    score: f.score,
    metric: f.metric,
    observed: f.observed,
    expected: f.expected,
    expectedSpread: f.expectedSpread,
    startedAt,
    detectedAt: now,
    updatedAt: now,
    resolvedAt: null,
    windowStart: f.windowStart,
    windowEnd: f.windowEnd,
    explanation: f.explanation,
    ...money(f),
  };
}

function money(f: Finding): Pick<Incident, 'projectedHourlyUsd' | 'usualHourlyUsd'> {
  return { ...(f.projectedHourlyUsd !== undefined ? { projectedHourlyUsd: f.projectedHourlyUsd } : {}), ...(f.usualHourlyUsd !== undefined ? { usualHourlyUsd: f.usualHourlyUsd } : {}) };
}

/** Keep the worst severity and score seen; report the latest numbers and window. */
function merge(inc: Incident, f: Finding, now: number): Incident {
  return {
    ...inc,
    tenant: f.tenant || inc.tenant,
    severity: RANK[f.severity] > RANK[inc.severity] ? f.severity : inc.severity,
    score: Math.max(inc.score, f.score),
    metric: f.metric,
    observed: f.observed,
    expected: f.expected,
    expectedSpread: f.expectedSpread,
    updatedAt: now,
    windowStart: Math.min(inc.windowStart, f.windowStart),
    windowEnd: f.windowEnd,
    // Once enforced, the story told is the one at enforcement; the spend phrase is added by `recordSpend`.
    explanation: f.explanation,
    ...money(f),
  };
}

/**
 * Incident lifecycle, pure: one open incident per (kind, entity, pattern); a finding opens or refreshes it; a held
 * pattern (still anomalous, explained by another) keeps it open; an incident neither found nor held for `quietMs`
 * resolves (`resolvedAt = now`; `updatedAt` stays the last time it was seen).
 */
export function reconcileIncidents(open: readonly Incident[], findings: readonly Finding[], now: number, opts: Partial<ReconcileOptions> = {}): ReconcileResult {
  const { quietMs, held } = { ...DEFAULT_RECONCILE, ...opts };
  const stillAnomalous = new Set(held.map((h) => keyOf(h.kind, h.id, h.pattern)));
  const best = new Map<string, Finding>();
  for (const f of findings) {
    const k = keyOf(f.kind, f.id, f.pattern);
    const prev = best.get(k);
    if (!prev || f.score > prev.score) best.set(k, f);
  }
  const result: ReconcileResult = { opened: [], updated: [], resolved: [], open: [] };
  const seen = new Set<string>();
  for (const inc of open) {
    if (inc.resolvedAt !== null) continue;
    const k = keyOf(inc.kind, inc.entityId, inc.pattern);
    if (seen.has(k)) continue; // a duplicate in the input: keep the first
    seen.add(k);
    const f = best.get(k);
    if (f) {
      const next = merge(inc, f, now);
      result.updated.push(next);
      result.open.push(next);
    } else if (stillAnomalous.has(k)) {
      const next = { ...inc, updatedAt: now };
      result.updated.push(next);
      result.open.push(next);
    } else if (now - inc.updatedAt >= quietMs) {
      result.resolved.push({ ...inc, resolvedAt: now });
    } else {
      result.open.push(inc);
    }
  }
  for (const [k, f] of best) {
    if (seen.has(k)) continue;
    const inc = fromFinding(f, now);
    result.opened.push(inc);
    result.open.push(inc);
  }
  return result;
}
