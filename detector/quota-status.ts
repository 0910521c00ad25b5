import { utilizationOf } from '../core/quota/evaluate.ts';
import { periodAt } from '../core/quota/period.ts';
import { emptyUsage, type Dimension, type Policy, type Usage } from '../core/quota/policy.ts';
import { ENTITY_KINDS } from '../core/usage/types.ts';
import type { QuotaRepo } from '../store/quota-repo.ts';
import type { PolicyService } from './policies.ts';

const BURN_WINDOW_MS = 15 * 60_000;

export type QuotaState = 'ok' | 'warning' | 'exceeded';

export interface PolicyStatus {
  policy: string;
  period: { start: string; end: string };
  state: QuotaState;
  utilization: number;
  dimensions: Partial<Record<Dimension, { used: number; limit: number; utilization: number; remaining: number }>>;
  projected_exhaustion_at: string | null;
  unpriced_requests: number;
}

/** Warning from the highest threshold below the hard limit (0.8 for the default thresholds); a policy with no threshold below 1.0 asked for no warning. */
function stateOf(policy: Policy, utilization: number): QuotaState {
  if (utilization >= 1) return 'exceeded';
  const below = policy.thresholds.filter((t) => t < 1);
  return below.length > 0 && utilization >= Math.max(...below) ? 'warning' : 'ok';
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/** Used, limit, utilization, remaining and projected exhaustion per policy (docs/concepts/quotas.md#status). */
export function createQuotaStatus(deps: { quotaRepo: QuotaRepo; policies: PolicyService }) {
  function build(policy: Policy, limits: Policy['limits'], window: { start: number; end: number }, usage: Usage, unpriced: number, burn: Usage | undefined, burnMs: number, now: number): PolicyStatus {
    const dimensions: PolicyStatus['dimensions'] = {};
    let exhaustion: number | null = null;
    for (const [d, limit] of Object.entries(limits) as [Dimension, number | undefined][]) {
      if (limit === undefined) continue;
      const used = usage[d];
      dimensions[d] = { used: round(used), limit, utilization: round(used / limit), remaining: round(Math.max(0, limit - used)) };
      const rate = burn && burnMs > 0 ? burn[d] / burnMs : 0;
      if (used < limit && rate > 0) {
        const at = now + (limit - used) / rate;
        if (at < window.end && (exhaustion === null || at < exhaustion)) exhaustion = at;
      }
    }
    const u = utilizationOf(usage, limits).utilization;
    return {
      policy: policy.name,
      period: { start: new Date(window.start).toISOString(), end: new Date(window.end).toISOString() },
      state: stateOf(policy, u),
      utilization: round(u),
      dimensions,
      projected_exhaustion_at: exhaustion === null ? null : new Date(Math.round(exhaustion)).toISOString(),
      unpriced_requests: unpriced,
    };
  }

  return {
    /** Scopes status can answer for: every entity kind, and the attributes active policies are scoped to. */
    scopes(): string[] {
      return [...new Set<string>([...ENTITY_KINDS, ...deps.policies.active().map((p) => p.scope)])];
    },

    async forEntity(scope: string, id: string, now: number): Promise<{ scope: string; id: string; policies: PolicyStatus[] }> {
      const out: PolicyStatus[] = [];
      for (const policy of deps.policies.active()) {
        if (policy.scope !== scope) continue;
        const window = periodAt(policy.period, now);
        const [row] = await deps.quotaRepo.usageByEntity(policy, window, id);
        // A match selector cannot be judged for an entity without usage: list such policies once they apply.
        if (!row && Object.keys(policy.match).length > 0) continue;
        const burnStart = Math.max(window.start, now - BURN_WINDOW_MS);
        const [burn] = row ? await deps.quotaRepo.usageByEntity(policy, { start: burnStart, end: now + 1 }, id) : [];
        out.push(build(policy, deps.policies.limitsFor(policy, id), window, row?.usage ?? emptyUsage(), row?.unpricedRequests ?? 0, burn?.usage, now - burnStart, now));
      }
      return { scope, id, policies: out };
    },

    /** Top consumers per policy of a scope, by utilization. */
    async top(scope: string, limit: number, now: number): Promise<{ scope: string; policies: { policy: string; period: { start: string; end: string }; entities: (PolicyStatus & { id: string })[] }[] }> {
      const policies = [];
      for (const policy of deps.policies.active()) {
        if (policy.scope !== scope) continue;
        const window = periodAt(policy.period, now);
        const rows = await deps.quotaRepo.usageByEntity(policy, window);
        const entities = rows
          .map((r) => ({ id: r.entity, ...build(policy, deps.policies.limitsFor(policy, r.entity), window, r.usage, r.unpricedRequests, undefined, 0, now) }))
          .sort((a, b) => b.utilization - a.utilization)
          .slice(0, limit);
        policies.push({ policy: policy.name, period: { start: new Date(window.start).toISOString(), end: new Date(window.end).toISOString() }, entities });
      }
      return { scope, policies };
    },
  };
}
export type QuotaStatus = ReturnType<typeof createQuotaStatus>;
