import type { EntityRef } from '../core/enforcement/decide.ts';
import type { EntityUsage, Limits } from '../core/quota/evaluate.ts';
import type { PeriodWindow } from '../core/quota/period.ts';
import type { Dimension, Policy } from '../core/quota/policy.ts';

interface Evaluation {
  policy: Policy;
  window: PeriodWindow;
  used: Map<string, EntityUsage['usage']>;
  limitsFor: (entity: string) => Limits;
}

/**
 * What is left of each quota, from the quota job's last evaluation (no store round trip per request): the
 * forward-auth answer puts it in `x-tollkeeper-remaining-*` headers. It is as old as the last tick; once a
 * calendar period has ended the entity starts again from its full limit.
 */
export function createQuotaRemaining() {
  let current = new Map<string, Evaluation>();
  let next: Map<string, Evaluation> | undefined;

  return {
    /** Called by the quota job for each policy it evaluated in a tick. */
    record(policy: Policy, window: PeriodWindow, usages: readonly EntityUsage[], limitsFor: (entity: string) => Limits): void {
      next ??= new Map();
      next.set(policy.name, { policy, window, used: new Map(usages.map((u) => [u.entity, u.usage])), limitsFor });
    },
    /** The tick is over: policies not evaluated in it (deleted ones) are forgotten. */
    commit(): void {
      if (next) current = next;
      next = undefined;
    },
    /** The smallest remaining amount per limited dimension across the policies that apply to these entities. */
    remainingFor(entities: readonly EntityRef[], now: number): Partial<Record<Dimension, number>> | undefined {
      let out: Partial<Record<Dimension, number>> | undefined;
      for (const ev of current.values()) {
        for (const e of entities) {
          if (ev.policy.scope !== e.kind) continue;
          const ended = ev.policy.period.kind !== 'rolling' && now >= ev.window.end;
          const usage = ended ? undefined : ev.used.get(e.id);
          // An entity with no usage matches a `match` policy or not: unknown until it has usage.
          if (!usage && Object.keys(ev.policy.match).length > 0) continue;
          for (const [d, limit] of Object.entries(ev.limitsFor(e.id)) as [Dimension, number | undefined][]) {
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
