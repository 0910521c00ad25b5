import type { PeriodWindow } from './period.ts';
import type { Dimension, Policy, Usage } from './policy.ts';

export interface EntityUsage {
  entity: string;
  usage: Usage;
  /** The tenant the entity's usage carries (the latest one), when it has one. */
  tenant?: string;
}

/** A threshold an entity reached in this period that has not fired before. */
export interface Crossing {
  policy: string;
  scope: string;
  entity: string;
  threshold: number;
  /** True at or beyond the hard limit (threshold >= 1): the policy's action applies. */
  hard: boolean;
  utilization: number;
  dimension: Dimension;
  used: number;
  limit: number;
  periodKey: string;
  window: PeriodWindow;
}

export type Limits = Partial<Record<Dimension, number>>;

/** Per dimension used/limit; a composite policy's utilization is the largest (exceeded when any is). */
export function utilizationOf(usage: Usage, limits: Limits): { utilization: number; dimension: Dimension; used: number; limit: number } {
  let best: { utilization: number; dimension: Dimension; used: number; limit: number } | undefined;
  for (const [d, limit] of Object.entries(limits) as [Dimension, number | undefined][]) {
    if (limit === undefined || limit <= 0) continue;
    const used = usage[d];
    const utilization = used / limit;
    if (!best || utilization > best.utilization) best = { utilization, dimension: d, used, limit };
  }
  return best ?? { utilization: 0, dimension: 'cost_usd', used: 0, limit: 0 };
}

/** Thresholds to act on: the configured ones plus the hard limit itself. */
export function effectiveThresholds(policy: Policy): number[] {
  return [...new Set([...policy.thresholds, 1])].sort((a, b) => a - b);
}

/**
 * Which thresholds fire now (docs/concepts/quotas.md): each once per entity, policy and period. `fired` answers from the
 * persisted record, so a restart does not fire again. Pure.
 */
export function evaluatePolicy(input: {
  policy: Policy;
  limitsFor: (entity: string) => Limits;
  window: PeriodWindow;
  periodKey: string;
  usages: readonly EntityUsage[];
  fired: (entity: string, threshold: number) => boolean;
}): Crossing[] {
  const out: Crossing[] = [];
  const thresholds = effectiveThresholds(input.policy);
  for (const { entity, usage } of input.usages) {
    const u = utilizationOf(usage, input.limitsFor(entity));
    for (const threshold of thresholds) {
      if (u.utilization < threshold) break;
      if (input.fired(entity, threshold)) continue;
      out.push({
        policy: input.policy.name,
        scope: input.policy.scope,
        entity,
        threshold,
        hard: threshold >= 1,
        ...u,
        periodKey: input.periodKey,
        window: input.window,
      });
    }
  }
  return out;
}
