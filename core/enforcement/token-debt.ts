import { TokenBucket } from './token-bucket.ts';
import type { Entry } from './types.ts';

/**
 * A post-paid token bucket for a `tokens_per_minute` throttle. A call's tokens are known only after it ran, so the
 * bucket is debited with the usage stored for the entity and may go below zero: while it is in debt the entity is
 * refused, until the refill (`rate` tokens a second) has paid the debt back. It holds at most one minute's worth,
 * so an idle entity may spend a minute's worth at once. Time is a parameter (ms).
 */
export class DebtBucket extends TokenBucket {
  constructor(
    readonly tokensPerMinute: number,
    now: number,
  ) {
    super(tokensPerMinute / 60, tokensPerMinute, now);
  }

  /** Takes usage that was stored (tokens already spent). */
  debit(tokens: number, now: number): void {
    this.refill(now);
    if (tokens > 0 && Number.isFinite(tokens)) this.tokens -= tokens;
  }

  /** Milliseconds until the debt is repaid (0 when not in debt). */
  override waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.rate) * 1000);
  }
}

/** One entity's stored tokens, as the detector passes them on: `[kind, id, tokens]`. */
export type TokenDebit = [kind: string, id: string, tokens: number];

const keyOf = (kind: string, id: string) => `${kind}\u0000${id}`;

/**
 * The post-paid buckets of the entities throttled by `tokens_per_minute`, rebuilt when that limit changes. Usage of
 * an entity that is not (yet) throttled so is ignored: its bucket starts full when the throttle starts.
 */
export class TokenDebts {
  private readonly map = new Map<string, DebtBucket>();

  get size(): number {
    return this.map.size;
  }

  private bucket(entry: Entry, now: number): DebtBucket | undefined {
    const tpm = entry.action === 'throttle' ? entry.limit?.tokens_per_minute : undefined;
    if (tpm === undefined || !(tpm > 0)) return undefined;
    const k = keyOf(entry.kind, entry.id);
    const held = this.map.get(k);
    if (held && held.tokensPerMinute === tpm) return held;
    const b = new DebtBucket(tpm, now);
    this.map.set(k, b);
    return b;
  }

  /** Debits stored usage to the entities (looked up on the list) that have a tokens-per-minute throttle. */
  debit(debits: readonly TokenDebit[], lookup: (kind: string, id: string) => Entry | undefined, now: number): void {
    for (const [kind, id, tokens] of debits) {
      const entry = lookup(kind, id);
      if (entry) this.bucket(entry, now)?.debit(tokens, now);
    }
  }

  /** How long this throttled entry's entity must wait for its debt to be repaid (0: not in debt, or no token limit). */
  waitMs(entry: Entry, now: number): number {
    return this.bucket(entry, now)?.waitMs(now) ?? 0;
  }

  forget(kind: string, id: string): void {
    this.map.delete(keyOf(kind, id));
  }
}
