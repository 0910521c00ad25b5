import { describe, expect, it } from 'vitest';
import { decideAdmission, worstCaseUsage, type LimitCheck } from '../../core/quota/admission.ts';
import { worstCaseCost } from '../../core/quota/admission-cost.ts';
import { createPricer } from '../../core/pricing/pricer.ts';
import { createReservationLedger } from '../../detector/reservations.ts';
import { createAdmissionUsage } from '../../detector/reservations-usage.ts';
import type { Policy } from '../../core/quota/policy.ts';

const check = (o: Partial<LimitCheck> = {}): LimitCheck => ({
  policy: 'cap',
  action: 'revoke',
  entity: { kind: 'api_key', id: 'k' },
  limits: { cost_usd: 1 },
  used: {},
  reserved: {},
  resetsAt: 1_000,
  ...o,
});

describe('decideAdmission', () => {
  const need = worstCaseUsage({ inputTokens: 100, maxOutputTokens: 50, costUsd: 0.25 });

  it('allows a call whose worst case fits what usage and other reservations leave, and says what is left after it', () => {
    expect(decideAdmission([check({ used: { cost_usd: 0.5 }, reserved: { cost_usd: 0.25 } })], need)).toEqual({ decision: 'allow', remaining: { cost_usd: 0 } });
  });

  it('refuses a call that could pass the limit, naming the policy, the dimension and when it resets', () => {
    const d = decideAdmission([check({ used: { cost_usd: 0.5 }, reserved: { cost_usd: 0.3 } })], need);
    expect(d).toMatchObject({ decision: 'deny', policy: 'cap', dimension: 'cost_usd', resetsAt: 1_000 });
    if (d.decision === 'allow') throw new Error('expected a refusal');
    expect(d.available).toBeCloseTo(0.2, 9);
    expect(d.reason).toContain('under policy cap');
  });

  it('refuses any call once a limit is used up, also one that needs none of it', () => {
    const d = decideAdmission([check({ limits: { tool_calls: 3 }, used: { tool_calls: 3 } })], need);
    expect(d.decision).toBe('deny');
  });

  it('a throttling policy answers throttle, and a revoking one outranks it', () => {
    const over = { used: { cost_usd: 1 } };
    expect(decideAdmission([check({ ...over, action: 'throttle', policy: 't' })], need)).toMatchObject({ decision: 'throttle', policy: 't' });
    expect(decideAdmission([check({ ...over, action: 'throttle', policy: 't' }), check({ ...over, policy: 'r' })], need)).toMatchObject({ decision: 'deny', policy: 'r' });
  });

  it('the smallest remaining per dimension across policies', () => {
    const d = decideAdmission([check({ limits: { cost_usd: 1, requests: 10 } }), check({ policy: 'b', limits: { cost_usd: 0.5 } })], need);
    expect(d).toEqual({ decision: 'allow', remaining: { cost_usd: 0.25, requests: 9 } });
  });

  it('worst case: tokens are input + max output, cached and reasoning bounded by their parents', () => {
    expect(need).toMatchObject({ input_tokens: 100, output_tokens: 50, tokens: 150, cached_tokens: 100, reasoning_tokens: 50, requests: 1, cost_usd: 0.25 });
  });
});

describe('worstCaseCost', () => {
  it('prices the dearest split of the tokens (cache writes and reasoning may cost more than plain tokens)', () => {
    const pricer = createPricer({
      overrides: [{ provider: 'openai', model: 'm', input_per_mtok: 1, output_per_mtok: 2, cache_write_per_mtok: 3, reasoning_per_mtok: 5, effective_from: '2020-01-01' }],
      fallback: null,
    });
    const c = worstCaseCost(pricer, { model: 'm', provider: 'openai', inputTokens: 1_000_000, maxOutputTokens: 1_000_000 }, Date.UTC(2026, 0, 1));
    expect(c).toMatchObject({ ok: true, costSource: 'override' });
    if (c.ok) expect(c.costUsd).toBeCloseTo(8, 9);
  });

  it('an unknown model has no worst case: the reason names it and the way out', () => {
    const c = worstCaseCost(createPricer({ overrides: [], fallback: null }), { model: 'nope-9', provider: '', inputTokens: 1, maxOutputTokens: 1 }, Date.UTC(2026, 0, 1));
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.reason).toMatch(/nope-9.*pricing\.overrides or pricing\.fallback/);
  });
});

describe('reservation ledger', () => {
  const hold = (cost: number) => [{ policy: 'cap', kind: 'api_key', id: 'k', amounts: { cost_usd: cost } }];

  it('sums what open reservations hold; take and expiry give it back', () => {
    const l = createReservationLedger();
    l.add({ id: 'a', holds: hold(0.25), createdAt: 0, expiresAt: 100 });
    l.add({ id: 'b', holds: hold(0.5), createdAt: 0, expiresAt: 50 });
    expect(l.heldFor('cap', 'api_key', 'k')).toEqual({ cost_usd: 0.75 });
    expect(l.expire(49)).toEqual([]);
    expect(l.expire(50).map((r) => r.id)).toEqual(['b']);
    expect(l.take('a')?.id).toBe('a');
    expect(l.take('a')).toBeUndefined();
    expect(l.heldFor('cap', 'api_key', 'k')).toBeUndefined();
    expect(l.expire(1_000)).toEqual([]);
  });
});

describe('admission usage view', () => {
  const policy: Policy = { name: 'cap', scope: 'api_key', match: {}, period: { kind: 'calendar', unit: 'day', timezone: 'UTC' }, limits: { cost_usd: 1 }, thresholds: [1], action: { type: 'revoke' } };
  const now = Date.UTC(2026, 11, 3, 12);
  const window = { start: Date.UTC(2026, 11, 3), end: Date.UTC(2026, 11, 4) };
  const usage = (cost: number) => ({ entity: 'k', usage: { cost_usd: cost } as never });

  it('counts the last tick plus what was stored since it began; a tick drops what it read, never what arrived while it read', () => {
    const u = createAdmissionUsage();
    u.begin();
    u.record(policy, window, [usage(0.5)]);
    u.commit();
    u.add('cap', 'api_key', 'k', now, { cost_usd: 0.1 });
    expect(u.usedFor(policy, 'api_key', 'k', now).used.cost_usd).toBeCloseTo(0.6, 9);
    u.begin();
    u.add('cap', 'api_key', 'k', now, { cost_usd: 0.2 }); // stored while the tick reads: maybe not in its read
    u.record(policy, window, [usage(0.6)]);
    u.commit();
    expect(u.usedFor(policy, 'api_key', 'k', now).used.cost_usd).toBeCloseTo(0.8, 9);
  });

  it('a calendar period that ended since the last tick starts from zero', () => {
    const u = createAdmissionUsage();
    u.begin();
    u.record(policy, window, [usage(0.9)]);
    u.commit();
    expect(u.usedFor(policy, 'api_key', 'k', window.end + 1).used).toEqual({});
  });
});

describe('admission service', () => {
  const policy: Policy = { name: 'cap', scope: 'api_key', match: {}, period: { kind: 'calendar', unit: 'day', timezone: 'UTC' }, limits: { cost_usd: 0.05 }, thresholds: [1], action: { type: 'revoke' } };
  const pricer = createPricer({ overrides: [{ provider: 'openai', model: 'gpt-4o', input_per_mtok: 2, output_per_mtok: 8, effective_from: '2020-01-01' }], fallback: null });
  const now = Date.UTC(2026, 11, 3, 12);

  async function service() {
    const { createAdmission } = await import('../../detector/reservations-service.ts');
    const { createLogger } = await import('../../app/logger.ts');
    const usage = createAdmissionUsage();
    usage.begin();
    usage.record(policy, { start: Date.UTC(2026, 11, 3), end: Date.UTC(2026, 11, 4) }, []);
    usage.commit();
    const a = createAdmission({
      policies: { active: () => [policy], limitsFor: (p) => p.limits },
      listCheck: () => ({ decision: { allowed: true, stale: false, unenforced: [] } }),
      lookup: () => undefined,
      pricer,
      usage,
      settings: { defaultTtlMs: 60_000, maxTtlMs: 600_000, defaultInputTokens: 1000, defaultMaxOutputTokens: 1000 },
      now: () => now,
      logger: createLogger('silent'),
    });
    return { a, usage };
  }
  const req = { entities: [{ kind: 'api_key', id: 'k' }], estimate: { model: 'gpt-4o', provider: 'openai' } };

  it('a reservation committed by another process keeps its worst case counted until a tick has read the usage', async () => {
    const { a, usage } = await service();
    const ids = Array.from({ length: 5 }, () => a.admit(req)).map((r) => (r.ok && r.value.decision === 'allow' ? r.value.reservationId : undefined));
    expect(ids.every((id) => id !== undefined)).toBe(true);
    expect(a.admit(req)).toMatchObject({ ok: true, value: { decision: 'deny', policy: 'cap' } });
    a.committedElsewhere([ids[0]!]);
    expect(a.size).toBe(4);
    // Still counted: the detector has not read the actual usage yet.
    expect(a.admit(req)).toMatchObject({ ok: true, value: { decision: 'deny' } });
    usage.begin();
    usage.record(policy, { start: Date.UTC(2026, 11, 3), end: Date.UTC(2026, 11, 4) }, [{ entity: 'k', usage: { cost_usd: 0.002 } as never }]);
    usage.commit();
    // Left: 0.05 - 0.002 (read) - 4 × 0.01 (held) = 0.008, less than one call.
    expect(a.admit(req)).toMatchObject({ ok: true, value: { decision: 'deny' } });
    a.release(ids[1]!);
    expect(a.admit(req)).toMatchObject({ ok: true, value: { decision: 'allow' } });
  });

  it('refuses before the first tick has read usage, when a hard limit is configured', async () => {
    const { createAdmission } = await import('../../detector/reservations-service.ts');
    const { createLogger } = await import('../../app/logger.ts');
    const a = createAdmission({
      policies: { active: () => [policy], limitsFor: (p) => p.limits },
      listCheck: () => ({ decision: { allowed: true, stale: false, unenforced: [] } }),
      lookup: () => undefined,
      pricer,
      usage: createAdmissionUsage(),
      settings: { defaultTtlMs: 60_000, maxTtlMs: 600_000, defaultInputTokens: 1000, defaultMaxOutputTokens: 1000 },
      now: () => now,
      logger: createLogger('silent'),
    });
    expect(a.admit(req)).toMatchObject({ ok: true, value: { decision: 'deny', source: 'staleness' } });
  });
});
