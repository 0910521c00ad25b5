import { describe, expect, it } from 'vitest';
import { Buckets, decide } from '../../core/enforcement/decide.ts';
import { denialHeaders } from '../../core/enforcement/denial-headers.ts';
import { DebtBucket, TokenDebts } from '../../core/enforcement/token-debt.ts';
import type { Entry } from '../../core/enforcement/types.ts';

const throttle = (id: string, limit: Entry['limit']): Entry => {
  const cause = { action: 'throttle' as const, limit, reason: 'tokens', source: 'quota' as const, ref: 'tpm-policy', created_at: '2026-12-03T00:00:00.000Z' };
  return { kind: 'api_key', id, ...cause, causes: [cause] };
};

describe('post-paid token bucket', () => {
  it('starts with a minute of tokens, goes into debt with stored usage, and is repaid at its rate', () => {
    const b = new DebtBucket(600, 0); // 10 tokens a second
    expect(b.waitMs(0)).toBe(0);
    b.debit(500, 0);
    expect(b.waitMs(0)).toBe(0);
    b.debit(300, 0);
    // 200 in debt: 20 s to repay.
    expect(b.waitMs(0)).toBe(20_000);
    expect(b.waitMs(19_500)).toBe(500);
    expect(b.waitMs(20_000)).toBe(0);
    // Idle time banks at most one minute's worth.
    b.debit(1_000, 3_600_000);
    expect(b.waitMs(3_600_000)).toBe(40_000);
  });

  it('ignores usage that is not a positive finite number', () => {
    const b = new DebtBucket(60, 0);
    for (const bad of [-5, Number.NaN, Number.POSITIVE_INFINITY]) b.debit(bad, 0);
    expect(b.waitMs(0)).toBe(0);
  });
});

describe('decide with token debts', () => {
  const base = { buckets: new Buckets(), now: 0, stalenessMs: 0, maxStalenessMs: 30_000, failMode: 'open' as const };

  it('refuses an entity in debt with 429 until the debt is repaid; others and unthrottled usage are untouched', () => {
    const list = new Map([['heavy', throttle('heavy', { tokens_per_minute: 600 })], ['light', throttle('light', { tokens_per_minute: 600 })]]);
    const lookup = (_k: string, id: string) => list.get(id);
    const debts = new TokenDebts();
    const run = (id: string, now: number) => decide({ ...base, debts, lookup, now, entities: [{ kind: 'api_key', id }] });
    debts.debit([['api_key', 'heavy', 1_200], ['api_key', 'light', 100], ['api_key', 'unlisted', 1e9]], lookup, 0);
    expect(debts.size).toBe(2);
    const refused = run('heavy', 0);
    expect(refused).toMatchObject({ allowed: false, status: 429, retryAfterMs: 60_000, tokensPerMinute: 600, denial: { decision: 'throttle', policy: 'tpm-policy' } });
    expect(denialHeaders(refused as Exclude<typeof refused, { allowed: true }>)).toMatchObject({ 'retry-after': '60', 'ratelimit-policy': '"tpm-policy";q=600;qu="tokens";w=60', ratelimit: '"tpm-policy";r=0;t=60' });
    expect(run('heavy', 60_000).allowed).toBe(true);
    expect(run('light', 0).allowed).toBe(true);
    // Without debts (a gateway that sees no usage) such a limit cannot be enforced before the call: it is reported.
    expect(decide({ ...base, lookup, entities: [{ kind: 'api_key', id: 'heavy' }] })).toMatchObject({ allowed: true, unenforced: [{ id: 'heavy' }] });
  });

  it('with a request rate as well: the longer wait refuses, and a request token is spent only when it passes', () => {
    const e = throttle('both', { tokens_per_minute: 600, requests_per_minute: 60 });
    const lookup = () => e;
    const debts = new TokenDebts();
    const buckets = new Buckets();
    const run = (now: number) => decide({ ...base, buckets, debts, lookup, now, entities: [{ kind: 'api_key', id: 'both' }] });
    expect(run(0).allowed).toBe(true);
    // Over its request rate, not in debt: requests per minute refuse (1 s).
    expect(run(0)).toMatchObject({ status: 429, retryAfterMs: 1_000, requestsPerMinute: 60 });
    debts.debit([['api_key', 'both', 900]], lookup, 0);
    expect(run(0)).toMatchObject({ status: 429, retryAfterMs: 30_000, tokensPerMinute: 600 });
    // A new limit is a new bucket (full again).
    const raised = throttle('both', { tokens_per_minute: 6_000, requests_per_minute: 60 });
    expect(decide({ ...base, buckets, debts, lookup: () => raised, now: 2_000, entities: [{ kind: 'api_key', id: 'both' }] }).allowed).toBe(true);
    debts.forget('api_key', 'both');
    expect(debts.size).toBe(0);
  });
});
