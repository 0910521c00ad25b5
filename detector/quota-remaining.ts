import type { EntityRef } from '../core/enforcement/decide.ts';
import type { EntityUsage, Limits } from '../core/quota/evaluate.ts';
import type { PeriodWindow } from '../core/quota/period.ts';
import type { Dimension, Policy } from '../core/quota/policy.ts';

/**
 * One policy's last evaluation as plain data (structured-clone safe, so the gateway worker gets a copy): its
 * scope, whether it selects entities by `match`, when its calendar period ends, usage per entity, and limits
 * (per-entity overrides over the policy's own).
 */
export interface RemainingEvaluation {
  scope: string;
  matched: boolean;
  /** End of the calendar period evaluated (ms); null for rolling windows, which never end. */
  endsAt: number | null;
  used: Map<string, EntityUsage['usage']>;
  limits: Limits;
  overrides: Map<string, Limits>;
}

export type RemainingSnapshot = RemainingEvaluation[];

export interface QuotaRemainingOptions {
  /** Per-entity limit overrides of a policy (also those of entities without usage yet). */
  overrides?: (policy: string) => Iterable<{ entity: string; limits: Limits }>;
  /** Told after each tick's evaluation is in place (the gateway feed passes it on to the worker). */
  onCommit?: (snapshot: RemainingSnapshot) => void;
}

/**
 * What is left of each quota, from the quota job's last evaluation (no store round trip per request): the
 * forward-auth answer puts it in `x-tollkeeper-remaining-*` headers. It is as old as the last tick (limit
 * overrides too); once a calendar period has ended the entity starts again from its full limit.
 */
export function createQuotaRemaining(o: QuotaRemainingOptions = {}) {
  let current: RemainingSnapshot = [];
  let next: RemainingSnapshot | undefined;

  return {
    /** Called by the quota job for each policy it evaluated in a tick. */
    record(policy: Policy, window: PeriodWindow, usages: readonly EntityUsage[], limitsFor: (entity: string) => Limits): void {
      const overrides = new Map<string, Limits>();
      for (const x of o.overrides?.(policy.name) ?? []) overrides.set(x.entity, x.limits);
      for (const u of usages) {
        const l = limitsFor(u.entity);
        if (l !== policy.limits) overrides.set(u.entity, l);
      }
      (next ??= []).push({
        scope: policy.scope,
        matched: Object.keys(policy.match).length > 0,
        endsAt: policy.period.kind === 'rolling' ? null : window.end,
        used: new Map(usages.map((u) => [u.entity, u.usage])),
        limits: policy.limits,
        overrides,
      });
    },
    /** The tick is over: policies not evaluated in it (deleted ones) are forgotten. */
    commit(): void {
      if (next) current = next;
      next = undefined;
      o.onCommit?.(current);
    },
    /** Takes another process's (or thread's) evaluation as its own. */
    load(snapshot: RemainingSnapshot): void {
      current = snapshot;
    },
    /** The smallest remaining amount per limited dimension across the policies that apply to these entities. */
    remainingFor(entities: readonly EntityRef[], now: number): Partial<Record<Dimension, number>> | undefined {
      let out: Partial<Record<Dimension, number>> | undefined;
      for (const ev of current) {
        for (const e of entities) {
          if (ev.scope !== e.kind) continue;
          const ended = ev.endsAt !== null && now >= ev.endsAt;
          const usage = ended ? undefined : ev.used.get(e.id);
          // An entity with no usage matches a `match` policy or not: unknown until it has usage.
          if (!usage && ev.matched) continue;
          for (const [d, limit] of Object.entries(ev.overrides.get(e.id) ?? ev.limits) as [Dimension, number | undefined][]) {
            if (limit === undefined) continue;
            const left = Math.max(0, limit - (usage?.[d] ?? 0));
            out ??= {};
            if (out[d] === undefined || left < out[d]) out[d] = left;
          }
        }
      }
      return out;
    },
  };
}
export type QuotaRemaining = ReturnType<typeof createQuotaRemaining>;
