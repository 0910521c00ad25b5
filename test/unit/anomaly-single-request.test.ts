import { describe, expect, it } from 'vitest';
import { runLiveFleet, type LiveAggregate, type LiveKey } from '../helpers/sim-live-fleet.ts';

// One $3 request on a key of about $0.60 an hour, in the live benchmark's fleet (24 keys of one call a minute, 4
// tenants and 4 agents seeded at six calls a minute): neither the fresh path nor the minute path may project that
// single request to an hour at its pace, for the key, its agent or its tenant. A new key burning ~30× a usual key's
// hour on the same agent is still enforced.
const hourlyOf = (k: number): number => 0.3 + (0.7 * k) / 23;
const MEDIAN_HOURLY = (hourlyOf(11) + hourlyOf(12)) / 2;

function fleet(newKey: boolean): { keys: LiveKey[]; aggregates: LiveAggregate[] } {
  const keys: LiveKey[] = Array.from({ length: 24 }, (_, k) => ({
    id: `k${k}`,
    tenant: `t${Math.floor(k / 6)}`,
    agent: `ag${k % 4}`,
    perMin: 1,
    usd: hourlyOf(k) / 60,
    ...(k === 9 ? { extra: [{ s: 30, usd: 3 }] } : {}),
    // the benchmark's 4× drip on k17, also on ag1
    ...(k === 17 && newKey ? { live: (s: number) => (s >= 10 ? 4 : 1) } : {}),
  }));
  // k9 is on agent ag1 and tenant t1; so is the new key
  if (newKey) keys.push({ id: 'k-new', tenant: 't1', agent: 'ag1', perMin: 10, usd: (30 * MEDIAN_HOURLY) / 600, fresh: true, live: (s) => (s >= 10 ? 10 : 0) });
  const aggregates: LiveAggregate[] = [
    ...Array.from({ length: 4 }, (_, a) => ({ kind: 'agent' as const, id: `ag${a}`, perMin: 6, usd: MEDIAN_HOURLY / 60 })),
    ...Array.from({ length: 4 }, (_, t) => ({ kind: 'tenant' as const, id: `t${t}`, perMin: 6, usd: hourlyOf(t * 6 + 2.5) / 60 })),
  ];
  return { keys, aggregates };
}

const criticals = (findings: ReturnType<typeof runLiveFleet>, ids: string[]): string[] =>
  findings.filter((f) => f.severity === 'critical' && ids.includes(f.id)).map((f) => `${f.s}s ${f.kind}:${f.id} ${f.pattern} projected $${f.projectedHourlyUsd}/h vs usual $${f.usualHourlyUsd}/h`);

describe('one expensive request never makes a critical', () => {
  it.each([true, false])('a 3-dollar request on a key whose agent and tenant are otherwise steady: no critical for the key, the agent or the tenant (fresh path: %s)', (fresh) => {
    for (let seed = 1; seed <= 4; seed++) {
      const findings = runLiveFleet({ ...fleet(false), seed, seconds: 180, fresh });
      expect(criticals(findings, ['k9', 'ag1', 't1'])).toEqual([]);
      // at most a warning on each: the spend of that minute is real and unusual
      for (const id of ['k9', 'ag1', 't1']) expect(new Set(findings.filter((f) => f.id === id).map((f) => f.pattern)).size).toBeLessThanOrEqual(1);
    }
  }, 60_000);

  it('the same request on an agent that also carries a new key’s attack: the new key is enforced, its agent and tenant (warned) are not', () => {
    for (let seed = 1; seed <= 4; seed++) {
      // as in the benchmark, a quota period starts 40 s in: the minute path's two-minute window then still holds part
      // of the minute of the $3 request
      const findings = runLiveFleet({ ...fleet(true), seed, seconds: 180, resetsS: [40] });
      expect(criticals(findings, ['ag1', 't1'])).toEqual([]);
      const enforced = findings.find((f) => f.id === 'k-new' && f.severity === 'critical');
      if (!enforced) throw new Error(`seed ${seed}: the new key was never critical`);
      expect(enforced.projectedHourlyUsd).toBeGreaterThan(20 * (enforced.usualHourlyUsd ?? Infinity));
      expect(findings.some((f) => f.id === 'ag1')).toBe(true);
    }
  }, 60_000);
});
