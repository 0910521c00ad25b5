import type { Logger } from 'pino';
import { evaluatePolicy, type Crossing } from '../core/quota/evaluate.ts';
import { periodAt, periodKey } from '../core/quota/period.ts';
import type { Policy } from '../core/quota/policy.ts';
import type { Cause } from '../core/enforcement/types.ts';
import { firingKey, type FiringsRepo } from '../store/firings-repo.ts';
import type { QuotaRepo } from '../store/quota-repo.ts';
import type { Bus, BusEvent } from './bus.ts';
import type { Enforcement } from './enforcement.ts';
import type { QuotaRemaining } from './quota-remaining.ts';

const FIRINGS_LOOKBACK_MS = 400 * 86_400_000;

export interface QuotaJobDeps {
  policies: () => readonly Policy[];
  quotaRepo: QuotaRepo;
  firingsRepo: FiringsRepo;
  enforcement: Enforcement;
  bus: Bus;
  logger: Logger;
  shadow: boolean;
  limitsFor?: (policy: Policy, entity: string) => Policy['limits'];
  /** Told each tick what every policy's usage is (forward-auth reads what is left from it). */
  remaining?: QuotaRemaining;
}

function describe(c: Crossing): string {
  const used = c.dimension === 'cost_usd' ? `$${c.used.toFixed(2)}` : String(Math.round(c.used * 100) / 100);
  const limit = c.dimension === 'cost_usd' ? `$${c.limit.toFixed(2)}` : String(c.limit);
  return `${c.scope} ${c.entity} used ${used} of ${limit} ${c.dimension} (${Math.round(c.utilization * 100)}%) under policy ${c.policy}`;
}

/** Each tick: usage per entity for every policy's current period → thresholds fired once → actions. */
export function createQuotaJob(deps: QuotaJobDeps) {
  let fired: Set<string> | undefined;

  async function act(policy: Policy, c: Crossing, now: number): Promise<BusEvent[]> {
    const out: BusEvent[] = [];
    const base = { entity: { kind: c.scope, id: c.entity }, source: 'quota' as const, policy: c.policy, dimension: c.dimension, observed: c.used, expected: c.limit, reason: describe(c) };
    out.push({ type: c.hard ? 'quota.exceeded' : 'quota.threshold', timestamp: new Date(now).toISOString(), data: { ...base, threshold: c.threshold, action: c.hard ? policy.action.type : 'alert' } });
    if (!c.hard || policy.action.type === 'alert' || deps.shadow) return out;
    const cause: Cause = {
      action: policy.action.type,
      ...(policy.action.type === 'throttle'
        ? { limit: { ...(policy.action.requestsPerMinute ? { requests_per_minute: policy.action.requestsPerMinute } : {}), ...(policy.action.tokensPerMinute ? { tokens_per_minute: policy.action.tokensPerMinute } : {}) } }
        : {}),
      reason: describe(c),
      source: 'quota',
      ref: policy.name,
      created_at: new Date(now).toISOString(),
      // Rolling windows have no end: the cause is lifted when usage falls back under the limit.
      ...(policy.period.kind !== 'rolling' ? { expires_at: new Date(c.window.end).toISOString() } : {}),
    };
    await deps.enforcement.addCause(c.scope, c.entity, cause, `policy:${policy.name}`);
    out.push({ type: policy.action.type === 'revoke' ? 'key.revoked' : 'key.throttled', timestamp: cause.created_at, data: { ...base, action: policy.action.type } });
    return out;
  }

  /** Rolling-window causes end when the entity is back under its limit. */
  async function liftRolling(policy: Policy, overLimit: Set<string>): Promise<void> {
    for (const e of deps.enforcement.snapshot().entries) {
      if (e.kind !== policy.scope || overLimit.has(e.id)) continue;
      if (!e.causes.some((c) => c.source === 'quota' && c.ref === policy.name)) continue;
      await deps.enforcement.removeCauses(e.kind, e.id, (c) => c.source === 'quota' && c.ref === policy.name, {
        actor: `policy:${policy.name}`,
        reason: 'rolling window usage back under the limit',
        source: 'quota',
      });
    }
  }

  return {
    async run(now: number): Promise<{ crossings: Crossing[] }> {
      fired ??= await deps.firingsRepo.loadKeys(now - FIRINGS_LOOKBACK_MS);
      const all: Crossing[] = [];
      const events: BusEvent[] = [];
      for (const policy of deps.policies()) {
        const window = periodAt(policy.period, now);
        const key = periodKey(policy.period, window);
        const usages = await deps.quotaRepo.usageByEntity(policy, window);
        const limitsFor = (entity: string) => deps.limitsFor?.(policy, entity) ?? policy.limits;
        deps.remaining?.record(policy, window, usages, limitsFor);
        const isFired = (entity: string, threshold: number) => fired!.has(firingKey({ policy: policy.name, scope: policy.scope, entity, periodKey: key, threshold }));
        const crossings = evaluatePolicy({ policy, limitsFor, window, periodKey: key, usages, fired: isFired });
        for (const c of crossings) {
          const f = { policy: c.policy, scope: c.scope, entity: c.entity, periodKey: c.periodKey, threshold: c.threshold, firedAt: now };
          await deps.firingsRepo.record(f);
          fired.add(firingKey(f));
          events.push(...(await act(policy, c, now)));
        }
        if (policy.period.kind === 'rolling' && policy.action.type !== 'alert') {
          const over = new Set(
            usages.filter((u) => Object.entries(limitsFor(u.entity)).some(([d, l]) => l !== undefined && u.usage[d as keyof typeof u.usage] >= l)).map((u) => u.entity),
          );
          await liftRolling(policy, over);
        }
        all.push(...crossings);
      }
      deps.remaining?.commit();
      deps.bus.publish(events);
      return { crossings: all };
    },
  };
}
