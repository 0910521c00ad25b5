import { Buckets, decide, type Decision, type EntityRef, type FailMode } from '../core/enforcement/decide.ts';
import type { Dimension } from '../core/quota/policy.ts';
import type { Change } from '../core/enforcement/types.ts';
import type { Enforcement } from './enforcement.ts';
import type { QuotaRemaining } from './quota-remaining.ts';

export interface ForwardAuthOptions {
  /** The revocation list: the enforcement service itself, or the gateway worker's copy of it. */
  enforcement: { get: Enforcement['get']; onChange(listener: (changes: Change[]) => void): void };
  remaining: Pick<QuotaRemaining, 'remainingFor'>;
  /** When the detector's view was last known current: the later of loading the list and the last good tick. */
  currentAt: () => number;
  now: () => number;
  maxStalenessMs: number;
  failMode: FailMode;
}

export interface ForwardAuthAnswer {
  decision: Decision;
  stalenessMs: number;
  remaining?: Partial<Record<Dimension, number>> | undefined;
}

/**
 * Forward-auth answers from memory: the revocation list held by the enforcement service, a token bucket per
 * throttled entity, and what the quota job's last tick left of each quota. No store round trip per request.
 */
export function createForwardAuth(o: ForwardAuthOptions) {
  const buckets = new Buckets();
  o.enforcement.onChange((changes) => {
    for (const c of changes) if (c.op === 'remove') buckets.forget(c.kind, c.id);
  });
  return {
    authorize(entities: readonly EntityRef[]): ForwardAuthAnswer {
      const now = o.now();
      const stalenessMs = Math.max(0, now - o.currentAt());
      const decision = decide({
        entities,
        lookup: o.enforcement.get,
        buckets,
        now,
        stalenessMs,
        maxStalenessMs: o.maxStalenessMs,
        failMode: o.failMode,
      });
      return { decision, stalenessMs, remaining: decision.allowed ? o.remaining.remainingFor(entities, now) : undefined };
    },
    get buckets(): number {
      return buckets.size;
    },
  };
}
export type ForwardAuth = ReturnType<typeof createForwardAuth>;
