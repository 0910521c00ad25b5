import { buildCause, enforcedData, enforceOf, type AddCause, type LiftCauses } from '../enforcement/cause.ts';
import type { Entry } from '../enforcement/types.ts';
import type { BusEvent } from '../events.ts';
import { evaluatePolicy, type Crossing, type EntityUsage, type Limits } from './evaluate.ts';
import type { PeriodWindow } from './period.ts';
import type { Policy } from './policy.ts';

/** A threshold that fired: recorded so it fires once per entity, policy and period, also across restarts. */
export interface Firing {
  policy: string;
  scope: string;
  entity: string;
  periodKey: string;
  threshold: number;
  firedAt: number;
}

export const firingKey = (f: Omit<Firing, 'firedAt'>): string => `${f.policy}\u0000${f.scope}\u0000${f.entity}\u0000${f.periodKey}\u0000${f.threshold}`;

/** One policy's current period and the usage per entity in it, as read from the store. */
export interface PolicyUsage {
  policy: Policy;
  window: PeriodWindow;
  periodKey: string;
  usages: readonly EntityUsage[];
}

export interface QuotaState {
  /** Keys (firingKey) of the thresholds already fired. */
  fired: ReadonlySet<string>;
  /** An entity's limits under a policy: its override, else the policy's. */
  limitsFor: (policy: Policy, entity: string) => Limits;
  /** The revocation list's entries now (rolling-window causes are lifted from them). */
  entries: readonly Entry[];
}

/** What the quota step decided: firings to record, causes to add and lift, events to publish (in this order). */
export interface QuotaDecision {
  crossings: Crossing[];
  firings: Firing[];
  add: AddCause[];
  lift: LiftCauses[];
  events: BusEvent[];
}

/** One sentence for logs, events and the entity's history. */
export function describeCrossing(c: Crossing): string {
  const used = c.dimension === 'cost_usd' ? `$${c.used.toFixed(2)}` : String(Math.round(c.used * 100) / 100);
  const limit = c.dimension === 'cost_usd' ? `$${c.limit.toFixed(2)}` : String(c.limit);
  return `${c.scope} ${c.entity} used ${used} of ${limit} ${c.dimension} (${Math.round(c.utilization * 100)}%) under policy ${c.policy}`;
}

/** True when some dimension of the entity's usage is at or past its limit. */
function overLimit(u: EntityUsage, limits: Limits): boolean {
  return Object.entries(limits).some(([d, l]) => l !== undefined && u.usage[d as keyof typeof u.usage] >= l);
}

/**
 * The quota decision of one tick (docs/concepts/quotas.md), pure: thresholds not fired before fire once; a hard
 * limit applies the policy's action until the period ends (rolling windows: until usage is back under the limit,
 * when the cause is lifted). In shadow mode events are emitted and nothing is enforced.
 */
export function quotaStep(state: QuotaState, input: readonly PolicyUsage[], now: number, o: { shadow: boolean }): QuotaDecision {
  const out: QuotaDecision = { crossings: [], firings: [], add: [], lift: [], events: [] };
  const at = new Date(now).toISOString();
  for (const { policy, window, periodKey, usages } of input) {
    const limitsFor = (entity: string) => state.limitsFor(policy, entity);
    const fired = (entity: string, threshold: number) => state.fired.has(firingKey({ policy: policy.name, scope: policy.scope, entity, periodKey, threshold }));
    const enforce = enforceOf(policy.action);
    // An entity's tenant travels with its alerts (a tenant-scoped policy's entity is the tenant itself).
    const tenants = new Map(policy.scope === 'tenant' ? [] : usages.flatMap((u) => (u.tenant ? [[u.entity, u.tenant] as const] : [])));
    for (const c of evaluatePolicy({ policy, limitsFor, window, periodKey, usages, fired })) {
      out.crossings.push(c);
      out.firings.push({ policy: c.policy, scope: c.scope, entity: c.entity, periodKey: c.periodKey, threshold: c.threshold, firedAt: now });
      const reason = describeCrossing(c);
      const tenant = tenants.get(c.entity);
      const base = { entity: { kind: c.scope, id: c.entity }, ...(tenant !== undefined ? { tenant } : {}), source: 'quota' as const, policy: c.policy, dimension: c.dimension, observed: c.used, expected: c.limit, reason };
      out.events.push({ type: c.hard ? 'quota.exceeded' : 'quota.threshold', timestamp: at, data: { ...base, threshold: c.threshold, action: !c.hard ? 'alert' : enforce && o.shadow ? `shadow:${policy.action.type}` : policy.action.type } });
      if (!c.hard || !enforce || o.shadow) continue;
      // Rolling windows have no end: the cause is lifted when usage falls back under the limit.
      const expiresAt = policy.period.kind !== 'rolling' ? c.window.end : undefined;
      const cause = buildCause({ enforce, reason, source: 'quota', ref: policy.name, at: now, ...(expiresAt !== undefined ? { expiresAt } : {}) });
      out.add.push({ kind: c.scope, id: c.entity, cause, actor: `policy:${policy.name}` });
      out.events.push({ type: enforce.action === 'revoke' ? 'key.revoked' : 'key.throttled', timestamp: at, data: { ...base, ...enforcedData(enforce) } });
    }
    if (policy.period.kind !== 'rolling' || !enforce) continue;
    const over = new Set(usages.filter((u) => overLimit(u, limitsFor(u.entity))).map((u) => u.entity));
    for (const e of state.entries) {
      if (e.kind !== policy.scope || over.has(e.id)) continue;
      if (!e.causes.some((c) => c.source === 'quota' && c.ref === policy.name)) continue;
      out.lift.push({ kind: e.kind, id: e.id, only: { source: 'quota', ref: policy.name }, source: 'quota', actor: `policy:${policy.name}`, reason: 'rolling window usage back under the limit' });
    }
  }
  return out;
}
