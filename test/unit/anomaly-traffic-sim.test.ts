import { describe, expect, it } from 'vitest';
import { DAY, EVAL_DAY, HOUR, MIN, drawHour, drawMinute, gamma, human, mulberry32, poisson, scenarioMinutes, scenarios } from '../helpers/traffic-sim.ts';

describe('traffic simulator', () => {
  it('is seeded and deterministic, with random access by time', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
    const s = scenarios()[0]!;
    const leaf = s.leaves[0]!;
    const t = EVAL_DAY + 10 * HOUR;
    expect(drawMinute(s.seed, 0, leaf, t)).toEqual(drawMinute(s.seed, 0, leaf, t));
    expect(drawHour(s.seed, 0, leaf, t)).toEqual(drawHour(s.seed, 0, leaf, t));
  });

  it('distributions have the right means', () => {
    const r = mulberry32(7);
    const n = 20_000;
    let p = 0;
    let pl = 0;
    let g = 0;
    for (let i = 0; i < n; i++) {
      p += poisson(r, 3);
      pl += poisson(r, 80);
      g += gamma(r, 2, 0.5);
    }
    expect(p / n).toBeCloseTo(3, 1);
    expect(pl / n).toBeCloseTo(80, 0);
    expect(g / n).toBeCloseTo(1, 1);
  });

  it('human traffic peaks mid-afternoon and drops at weekends', () => {
    const rate = human(10);
    const monday = EVAL_DAY;
    expect(rate(monday + 15 * HOUR)).toBeCloseTo(10, 5);
    expect(rate(monday + 3 * HOUR)).toBeCloseTo(3.5, 5);
    expect(rate(monday + 5 * DAY + 15 * HOUR)).toBeCloseTo(6, 5); // Saturday
  });

  it('scenarioMinutes yields per-minute totals with full span identity, for turning a scenario into spans', () => {
    const s = scenarios().find((x) => x.name.startsWith('runaway_loop'))!;
    const from = s.attackStart!;
    const rows = [...scenarioMinutes(s, from, from + 3 * MIN)];
    const loop = rows.filter((r) => r.identity.conversation === 'c-loop');
    expect(loop).toHaveLength(3);
    expect(loop[0]!.identity).toEqual({ api_key: 'k-bots-1', tenant: 't-bots', agent: 'a-research', conversation: 'c-loop' });
    expect(loop[0]!.totals.requests).toBeGreaterThanOrEqual(12);
    expect(loop[0]!.totals.tool_calls).toBe(loop[0]!.totals.requests);
    for (const r of rows) expect(r.minuteStart % MIN).toBe(0);
  });

  it('every scenario is labelled, attacks have a start, a target and a bound', () => {
    const list = scenarios();
    expect(new Set(list.map((s) => s.label))).toEqual(new Set(['burst', 'runaway_loop', 'slow_drip', 'tenant_spike', 'trap']));
    for (const s of list) {
      if (s.label === 'trap') expect(s.attackStart).toBeNull();
      else {
        expect(s.attackStart).toBeGreaterThan(s.evalFrom);
        expect(s.targets.length).toBeGreaterThan(0);
        expect(s.boundMin).toBeGreaterThan(0);
      }
    }
  });
});
