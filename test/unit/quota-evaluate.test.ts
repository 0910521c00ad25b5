import { describe, expect, it } from 'vitest';
import { evaluatePolicy, utilizationOf } from '../../core/quota/evaluate.ts';
import { periodAt, periodKey } from '../../core/quota/period.ts';
import { emptyUsage, type Policy, type Usage } from '../../core/quota/policy.ts';

const policy: Policy = {
  name: 'daily',
  scope: 'api_key',
  match: {},
  period: { kind: 'calendar', unit: 'day', timezone: 'UTC' },
  limits: { cost_usd: 10, tokens: 1000 },
  thresholds: [0.5, 0.8, 1],
  action: { type: 'revoke' },
};

function usage(u: Partial<Usage>): Usage {
  return { ...emptyUsage(), ...u };
}

function run(u: Usage, fired = new Set<number>(), now = Date.UTC(2026, 10, 25, 12)) {
  const window = periodAt(policy.period, now);
  return evaluatePolicy({
    policy,
    limitsFor: () => policy.limits,
    window,
    periodKey: periodKey(policy.period, window),
    usages: [{ entity: 'k', usage: u }],
    fired: (_e, t) => fired.has(t),
  });
}

describe('daily cost/token policy evaluation', () => {
  it('is exceeded when any limit is (composite) and names the dimension', () => {
    expect(utilizationOf(usage({ cost_usd: 1, tokens: 1200 }), policy.limits)).toMatchObject({ dimension: 'tokens', utilization: 1.2 });
    const crossings = run(usage({ cost_usd: 1, tokens: 1200 }));
    expect(crossings.map((c) => c.threshold)).toEqual([0.5, 0.8, 1]);
    expect(crossings.at(-1)).toMatchObject({ hard: true, dimension: 'tokens', used: 1200, limit: 1000 });
  });

  it('fires nothing under the first threshold and only unfired thresholds above it', () => {
    expect(run(usage({ cost_usd: 4.99 }))).toEqual([]);
    expect(run(usage({ cost_usd: 8.5 }), new Set([0.5])).map((c) => c.threshold)).toEqual([0.8]);
    expect(run(usage({ cost_usd: 50 }), new Set([0.5, 0.8, 1]))).toEqual([]);
  });

  it('adds the hard limit even when the thresholds do not list it', () => {
    const crossings = evaluatePolicy({
      policy: { ...policy, thresholds: [0.9] },
      limitsFor: () => policy.limits,
      window: { start: 0, end: 1 },
      periodKey: 'p',
      usages: [{ entity: 'k', usage: usage({ cost_usd: 10 }) }],
      fired: () => false,
    });
    expect(crossings.map((c) => [c.threshold, c.hard])).toEqual([
      [0.9, false],
      [1, true],
    ]);
  });

  it('uses per-entity limits (overrides)', () => {
    const crossings = evaluatePolicy({
      policy,
      limitsFor: (e) => (e === 'big' ? { cost_usd: 100 } : policy.limits),
      window: { start: 0, end: 1 },
      periodKey: 'p',
      usages: [
        { entity: 'big', usage: usage({ cost_usd: 20 }) },
        { entity: 'small', usage: usage({ cost_usd: 20 }) },
      ],
      fired: () => false,
    });
    expect(new Set(crossings.map((c) => c.entity))).toEqual(new Set(['small']));
  });

  it('starts a new period (and a new period key) at the UTC day boundary', () => {
    const before = Date.UTC(2026, 10, 25, 23, 59, 59, 999);
    const after = Date.UTC(2026, 10, 26, 0, 0, 0, 0);
    const w1 = periodAt(policy.period, before);
    const w2 = periodAt(policy.period, after);
    expect(w1).toEqual({ start: Date.UTC(2026, 10, 25), end: Date.UTC(2026, 10, 26) });
    expect(w2).toEqual({ start: Date.UTC(2026, 10, 26), end: Date.UTC(2026, 10, 27) });
    expect(periodKey(policy.period, w1)).not.toBe(periodKey(policy.period, w2));
    expect(run(usage({ cost_usd: 11 }), new Set(), before)[0]!.periodKey).toBe('day@UTC:2026-11-25');
    expect(run(usage({ cost_usd: 11 }), new Set(), after)[0]!.periodKey).toBe('day@UTC:2026-11-26');
  });
});
