import { periodAt, periodKey } from '../core/quota/period.ts';
import { restoredEvents } from '../core/enforcement/restored.ts';
import type { Policy } from '../core/quota/policy.ts';
import { firingKey, quotaStep, type Firing, type PolicyUsage } from '../core/quota/step.ts';
import type { Crossing } from '../core/quota/evaluate.ts';
import type { QuotaRepo } from '../store/quota-repo.ts';
import type { Bus } from './bus.ts';
import type { Enforcement } from './enforcement.ts';
import type { QuotaRemaining } from './quota-remaining.ts';

const FIRINGS_LOOKBACK_MS = 400 * 86_400_000;

/** Where fired thresholds are kept (store/firings-repo.ts; replay keeps them in memory). */
export interface FiringsLog {
  loadKeys(sinceMs: number): Promise<Set<string>>;
  /** Stores one tick's firings together (one write). */
  record(firings: readonly Firing[]): Promise<void>;
}

export interface QuotaJobDeps {
  policies: () => readonly Policy[];
  limitsFor: (policy: Policy, entity: string) => Policy['limits'];
  quotaRepo: Pick<QuotaRepo, 'usageByEntity'>;
  firings: FiringsLog;
  enforcement: Pick<Enforcement, 'snapshot' | 'apply'>;
  bus: Bus;
  shadow: boolean;
  /** Told each tick what every policy's usage is (forward-auth reads what is left from it); replay has none. */
  remaining?: Pick<QuotaRemaining, 'record' | 'commit'> & { /** A tick is about to read usage (admission counts what is stored from here on). */ begin?(): void };
}

/**
 * Each tick: usage per entity for every policy's current period (read) → quotaStep (core, pure) → firings
 * recorded, causes added and lifted, events published (write); however many entities cross at once, the firings
 * are one write and the revocation list changes another. Replay runs this same job with in-memory writes.
 */
export function createQuotaJob(deps: QuotaJobDeps) {
  let fired: Set<string> | undefined;
  return {
    async run(now: number): Promise<{ crossings: Crossing[] }> {
      fired ??= await deps.firings.loadKeys(now - FIRINGS_LOOKBACK_MS);
      deps.remaining?.begin?.();
      const input: PolicyUsage[] = [];
      for (const policy of deps.policies()) {
        const window = periodAt(policy.period, now);
        const usages = await deps.quotaRepo.usageByEntity(policy, window);
        deps.remaining?.record(policy, window, usages, (entity) => deps.limitsFor(policy, entity));
        input.push({ policy, window, periodKey: periodKey(policy.period, window), usages });
      }
      deps.remaining?.commit();
      const d = quotaStep({ fired, limitsFor: deps.limitsFor, entries: deps.enforcement.snapshot().entries }, input, now, { shadow: deps.shadow });
      // Firings count as fired only once stored: a failed write leaves them to fire on the next tick, not never.
      await deps.firings.record(d.firings);
      for (const f of d.firings) fired.add(firingKey(f));
      const { left } = await deps.enforcement.apply(d);
      void deps.bus.publish([...d.events, ...restoredEvents(left, now)]);
      return { crossings: d.crossings };
    },
  };
}
