import { Buckets, decide, type Decision, type EntityRef, type FailMode } from '../core/enforcement/decide.ts';
import { TokenDebts, type TokenDebit } from '../core/enforcement/token-debt.ts';
import type { Dimension } from '../core/quota/policy.ts';
import type { Change } from '../core/enforcement/types.ts';
import type { Enforcement } from './enforcement.ts';
import type { QuotaRemaining } from './quota-remaining.ts';

export interface ForwardAuthOptions {
  /** The revocation list: the enforcement service itself, or the gateway worker's copy of it. */
  enforcement: {
    get: Enforcement['get'];
    onChange(listener: (changes: Change[]) => void): void;
    /** Stored usage of entities throttled by tokens per minute (the gateway mirror has it; without it such throttles are not enforced). */
    onUsage?(listener: (debits: TokenDebit[]) => void): void;
  };
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
 * throttled entity (and a post-paid one per tokens-per-minute throttle, debited with its stored usage), and what
 * the quota job's last tick left of each quota. No store round trip per request.
 */
export function createForwardAuth(o: ForwardAuthOptions) {
  const buckets = new Buckets();
  const debts = o.enforcement.onUsage ? new TokenDebts() : undefined;
  o.enforcement.onChange((changes) => {
    for (const c of changes) {
      if (c.op !== 'remove') continue;
      buckets.forget(c.kind, c.id);
      debts?.forget(c.kind, c.id);
    }
  });
  o.enforcement.onUsage?.((debits) => debts!.debit(debits, o.enforcement.get, o.now()));
  return {
    authorize(entities: readonly EntityRef[]): ForwardAuthAnswer {
      const now = o.now();
      const stalenessMs = Math.max(0, now - o.currentAt());
      const decision = decide({
        entities,
        lookup: o.enforcement.get,
        buckets,
        debts,
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
