import { bucketShape, TokenBucket } from './token-bucket.ts';
import type { TokenDebts } from './token-debt.ts';
import type { Entry } from './types.ts';

export interface EntityRef {
  kind: string;
  id: string;
}

export type FailMode = 'open' | 'closed';

/** Why a request was refused: the JSON body gateways get (and log). */
export interface Denial {
  decision: 'deny' | 'throttle';
  entity: EntityRef | null;
  reason: string;
  source: string;
  policy?: string;
  resets_at?: string;
}

export type Decision =
  | { allowed: true; stale: boolean; /** Throttled entities whose limit this check cannot enforce (tokens only). */ unenforced: readonly Entry[] }
  | { allowed: false; status: 403; denial: Denial }
  | {
      allowed: false;
      status: 429;
      denial: Denial;
      retryAfterMs: number;
      /** The requests bucket (absent when only the token debt refused). */
      bucket?: { rate: number; burst: number };
      /** The limit that refused: requests per minute, or tokens per minute when the entity is in token debt. */
      requestsPerMinute?: number;
      tokensPerMinute?: number;
    }
  | { allowed: false; status: 503; denial: Denial };

/**
 * Per-entity token buckets for throttled entries, rebuilt when an entry's limit changes. The owner calls
 * `forget` when an entry leaves the list so the map stays as small as the list.
 */
export class Buckets {
  private readonly map = new Map<string, { rpm: number; bucket: TokenBucket }>();

  get size(): number {
    return this.map.size;
  }

  for(entry: Entry, now: number): TokenBucket | undefined {
    const shape = bucketShape(entry.limit);
    if (!shape) return undefined;
    const key = `${entry.kind}\u0000${entry.id}`;
    const rpm = entry.limit!.requests_per_minute!;
    const held = this.map.get(key);
    if (held && held.rpm === rpm) return held.bucket;
    const bucket = new TokenBucket(shape.rate, shape.burst, now);
    this.map.set(key, { rpm, bucket });
    return bucket;
  }

  forget(kind: string, id: string): void {
    this.map.delete(`${kind}\u0000${id}`);
  }

  clear(): void {
    this.map.clear();
  }
}

// The allowed decisions with nothing unenforced, made once: most requests get one of these (nothing made per request).
const NONE: readonly Entry[] = Object.freeze([]);
const ALLOWED: Decision = Object.freeze({ allowed: true, stale: false, unenforced: NONE });
const ALLOWED_STALE: Decision = Object.freeze({ allowed: true, stale: true, unenforced: NONE });

function denialOf(entry: Entry, decision: Denial['decision']): Denial {
  const d: Denial = { decision, entity: { kind: entry.kind, id: entry.id }, reason: entry.reason, source: entry.source };
  if (entry.source === 'quota') d.policy = entry.ref;
  if (entry.expires_at !== undefined) d.resets_at = entry.expires_at;
  return d;
}

export interface DecideInput {
  entities: readonly EntityRef[];
  lookup: (kind: string, id: string) => Entry | undefined;
  buckets: Buckets;
  /** Post-paid buckets for `tokens_per_minute` throttles (without them such a limit is not enforced here). */
  debts?: TokenDebts | undefined;
  now: number;
  /** How old the list is (ms) and the bound past which `failMode` decides. */
  stalenessMs: number;
  maxStalenessMs: number;
  failMode: FailMode;
}

/**
 * One request's answer from the revocation list: a revoked entity → 403; a throttled one past its rate → 429;
 * a list older than the bound → 503 when failing closed (failing open keeps applying the list it has).
 * A token is taken from every throttled entity's bucket only when the request is let through.
 */
export function decide(i: DecideInput): Decision {
  const stale = i.stalenessMs > i.maxStalenessMs;
  if (stale && i.failMode === 'closed') {
    const seconds = Number.isFinite(i.stalenessMs) ? `${Math.round(i.stalenessMs / 1000)} s` : 'ever';
    return {
      allowed: false,
      status: 503,
      denial: { decision: 'deny', entity: null, reason: `revocation list not confirmed current for ${seconds} (bound ${Math.round(i.maxStalenessMs / 1000)} s); failing closed`, source: 'staleness' },
    };
  }
  let throttled: { entry: Entry; bucket: TokenBucket | undefined }[] | undefined;
  let unenforced: Entry[] | undefined;
  for (const e of i.entities) {
    const entry = i.lookup(e.kind, e.id);
    if (!entry) continue;
    if (entry.action === 'revoke') return { allowed: false, status: 403, denial: denialOf(entry, 'deny') };
    const bucket = i.buckets.for(entry, i.now);
    const debt = i.debts !== undefined && entry.limit?.tokens_per_minute !== undefined;
    if (bucket || debt) (throttled ??= []).push({ entry, bucket });
    else (unenforced ??= []).push(entry);
  }
  if (throttled) {
    for (const t of throttled) {
      // In token debt: wait until it is repaid; over its request rate: until the next token. The longer of the two.
      const debtWait = i.debts?.waitMs(t.entry, i.now) ?? 0;
      const wait = Math.max(t.bucket?.waitMs(i.now) ?? 0, debtWait);
      if (wait > 0) {
        const limit = t.entry.limit!;
        return {
          allowed: false,
          status: 429,
          denial: denialOf(t.entry, 'throttle'),
          retryAfterMs: wait,
          ...(t.bucket ? { bucket: { rate: t.bucket.rate, burst: t.bucket.burst } } : {}),
          ...(debtWait === wait && limit.tokens_per_minute !== undefined ? { tokensPerMinute: limit.tokens_per_minute } : { requestsPerMinute: limit.requests_per_minute! }),
        };
      }
    }
    for (const t of throttled) t.bucket?.take(i.now);
  }
  if (unenforced) return { allowed: true, stale, unenforced };
  return stale ? ALLOWED_STALE : ALLOWED;
}

/** What a forward-auth answer was, for counting: allow, allow_stale (failing open), deny, throttle, unavailable (failing closed). */
export function decisionOutcome(d: Decision): 'allow' | 'allow_stale' | 'deny' | 'throttle' | 'unavailable' {
  if (d.allowed) return d.stale ? 'allow_stale' : 'allow';
  return d.status === 403 ? 'deny' : d.status === 429 ? 'throttle' : 'unavailable';
}
