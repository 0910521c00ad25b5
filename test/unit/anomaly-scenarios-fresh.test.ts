import { describe, expect, it } from 'vitest';
import { runScenario, scenarios } from '../helpers/traffic-sim.ts';
import type { Scenario, ScenarioOutcome } from '../helpers/traffic-sim.ts';

// The labelled scenarios again, with the fresh path (sequential tests on sub-minute counters) fed alongside the
// minute series: it must not turn a trap into an alarm, nor lose an attack.
const all = scenarios();
const SLOW = 60_000;
const describeIncidents = (o: ScenarioOutcome): string =>
  o.incidents.map((i) => `${i.criticalAt === null ? 'warning ' : 'critical'} ${i.pattern} ${i.kind}:${i.id} (${i.verdict}) — ${i.explanation}`).join('\n');

describe('with the fresh path', () => {
  it.each(all.filter((s) => s.label !== 'trap').map((s) => [s.name, s] as const))('attack %s is still caught in time (critical; a tenant spike: flagged), nothing else is critical', (_n, s: Scenario) => {
    const o = runScenario(s, { fresh: true });
    expect(o.delayMin, describeIncidents(o)).not.toBeNull();
    expect(o.delayMin!).toBeLessThanOrEqual(s.boundMin!);
    expect(o.incidents.filter((i) => i.criticalAt !== null && i.verdict === 'false_positive'), describeIncidents(o)).toEqual([]);
  }, SLOW);

  it.each(all.filter((s) => s.label === 'trap').map((s) => [s.name, s] as const))('%s: no critical, at most one warning', (_n, s: Scenario) => {
    const o = runScenario(s, { fresh: true });
    expect(o.incidents.filter((i) => i.criticalAt !== null), describeIncidents(o)).toEqual([]);
    expect(o.incidents.length, describeIncidents(o)).toBeLessThanOrEqual(1);
  }, SLOW);
});
