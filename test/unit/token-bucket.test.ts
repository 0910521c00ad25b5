import { describe, expect, it } from 'vitest';
import { Buckets, decide } from '../../core/enforcement/decide.ts';
import { denialHeaders } from '../../core/enforcement/denial-headers.ts';
import { bucketShape, TokenBucket } from '../../core/enforcement/token-bucket.ts';
import type { Entry } from '../../core/enforcement/types.ts';

const entry = (over: Partial<Entry>): Entry => {
  const cause = { action: 'revoke' as const, reason: 'r', source: 'manual' as const, ref: 'op-1', created_at: '2026-12-03T00:00:00.000Z', ...over };
  return { kind: 'api_key', id: 'k', ...cause, causes: [cause] };
};

describe('token bucket', () => {
  it('spends its burst, then refills at its rate', () => {
    const b = new TokenBucket(2, 2, 0);
    expect(b.take(0).ok).toBe(true);
    expect(b.take(0).ok).toBe(true);
    expect(b.take(0)).toEqual({ ok: false, retryAfterMs: 500 });
    expect(b.take(499).ok).toBe(false);
    expect(b.take(500).ok).toBe(true);
    // Idle time banks at most the burst.
    expect([1, 2, 3].map(() => b.take(60_000).ok)).toEqual([true, true, false]);
  });

  it('shapes requests per minute into one second of burst, at least one', () => {
    expect(bucketShape({ requests_per_minute: 600 })).toEqual({ rate: 10, burst: 10 });
    expect(bucketShape({ requests_per_minute: 6 })).toEqual({ rate: 0.1, burst: 1 });
    expect(bucketShape({ tokens_per_minute: 1000 })).toBeUndefined();
  });
});

describe('decide', () => {
  const base = { buckets: new Buckets(), now: 1000, stalenessMs: 0, maxStalenessMs: 30_000, failMode: 'open' as const };

  it('refuses a revoked entity among several, whichever comes first', () => {
    const list = new Map([['tenant', entry({ kind: 'tenant', id: 't', source: 'quota', ref: 'daily', expires_at: '2026-12-04T00:00:00.000Z' })]]);
    const d = decide({ ...base, entities: [{ kind: 'api_key', id: 'k' }, { kind: 'tenant', id: 't' }], lookup: (k) => list.get(k) });
    expect(d).toEqual({ allowed: false, status: 403, denial: { decision: 'deny', entity: { kind: 'tenant', id: 't' }, reason: 'r', source: 'quota', policy: 'daily', resets_at: '2026-12-04T00:00:00.000Z' } });
    expect(denialHeaders(d as Exclude<typeof d, { allowed: true }>)).toEqual({ 'x-tollkeeper-reason': 'deny: r' });
  });

  it('takes a token only when the request passes every throttle', () => {
    const buckets = new Buckets();
    const a = entry({ id: 'a', action: 'throttle', limit: { requests_per_minute: 60 } });
    const b = entry({ kind: 'user', id: 'b', action: 'throttle', limit: { requests_per_minute: 60 } });
    const lookup = (k: string) => (k === 'api_key' ? a : b);
    const run = (entities: { kind: string; id: string }[], now: number) => decide({ ...base, buckets, now, entities, lookup });
    expect(run([{ kind: 'user', id: 'b' }], 0).allowed).toBe(true);
    const refused = run([{ kind: 'api_key', id: 'a' }, { kind: 'user', id: 'b' }], 0);
    expect(refused).toMatchObject({ allowed: false, status: 429, retryAfterMs: 1000, requestsPerMinute: 60 });
    // a's token was not spent by the refused request.
    expect(run([{ kind: 'api_key', id: 'a' }], 0).allowed).toBe(true);
    const h = denialHeaders(refused as Exclude<typeof refused, { allowed: true }>);
    expect(h).toMatchObject({ 'retry-after': '1', 'ratelimit-policy': '"manual";q=60;w=60', ratelimit: '"manual";r=0;t=1' });
  });

  it('past the staleness bound: closed refuses everyone with 503, open keeps applying the list it has', () => {
    const list = new Map([['api_key', entry({})]]);
    const stale = { ...base, stalenessMs: 31_000, lookup: (k: string) => list.get(k) };
    expect(decide({ ...stale, failMode: 'closed', entities: [] })).toMatchObject({ allowed: false, status: 503, denial: { source: 'staleness', entity: null } });
    expect(decide({ ...stale, entities: [{ kind: 'user', id: 'u' }] })).toEqual({ allowed: true, stale: true, unenforced: [] });
    expect(decide({ ...stale, entities: [{ kind: 'api_key', id: 'k' }] })).toMatchObject({ allowed: false, status: 403 });
    expect(decide({ ...stale, stalenessMs: Infinity, failMode: 'closed', entities: [] })).toMatchObject({ denial: { reason: /not confirmed current for ever/ } });
  });
});
