import { describe, expect, it } from 'vitest';
import { resolveAnomalyConfig } from '../../core/anomaly/config.ts';
import { MIN, between, constant, runScenario, scenarioReport, scenarios } from '../helpers/traffic-sim.ts';
import type { Scenario, ScenarioOutcome } from '../helpers/traffic-sim.ts';

// Every labelled scenario is run tick by tick (one tick per minute, 45 s into it) through detect + incidents.
const all = scenarios();
const attacks = all.filter((s) => s.label !== 'trap');
const traps = all.filter((s) => s.label === 'trap');
const outcomes = new Map<string, ScenarioOutcome>();
/** Each scenario runs once (≈0.1–1.5 s), inside the test that needs it first; the report reuses the results. */
const outcomeOf = (s: Scenario): ScenarioOutcome => {
  if (!outcomes.has(s.name)) outcomes.set(s.name, runScenario(s));
  return outcomes.get(s.name)!;
};
// Generous per-test timeouts: CI machines shared with other suites can be several times slower.
const SLOW = 60_000;

const describeIncidents = (o: ScenarioOutcome): string[] =>
  o.incidents.map((i) => `${i.criticalAt === null ? 'warning ' : 'critical'} ${i.pattern} ${i.kind}:${i.id} (${i.verdict}) — ${i.explanation}`);

describe('labelled attacks are detected with the right pattern, in time: critical (a moderate tenant spike: flagged, it warns)', () => {
  it.each(attacks.map((s) => [s.name, s] as const))('%s', (_name, s: Scenario) => {
    const o = outcomeOf(s);
    expect(o.delayMin, describeIncidents(o).join('\n')).not.toBeNull();
    expect(o.delayMin!).toBeLessThanOrEqual(s.boundMin!);
    // nothing critical on entities that are not under attack, nor before the attack
    expect(o.incidents.filter((i) => i.criticalAt !== null && i.verdict === 'false_positive'), describeIncidents(o).join('\n')).toEqual([]);
  }, SLOW);
});

describe('false-positive traps never produce a critical finding', () => {
  it.each(traps.map((s) => [s.name, s] as const))('%s', (_name, s: Scenario) => {
    const o = outcomeOf(s);
    expect(o.incidents.filter((i) => i.criticalAt !== null), describeIncidents(o).join('\n')).toEqual([]);
  }, SLOW);

  it('the traps bite: without the mechanism that handles them they miss the goal (a critical, or more than one warning)', () => {
    const bites = (o: ScenarioOutcome): boolean => o.incidents.some((i) => i.criticalAt !== null) || o.incidents.length > 1;
    const batch = traps.find((s) => s.name.includes('batch'))!;
    const noSeasonality = runScenario(batch, { baseline: { minSlotSamples: 10_000 } });
    expect(noSeasonality.incidents.some((i) => i.criticalAt !== null)).toBe(true);
    const reset = traps.find((s) => s.name.includes('reset'))!;
    // Without the grace the free keys' catch-up surges are bursts (warnings: cheap), and their tenant warns too.
    const noResetGrace = runScenario(reset, { config: resolveAnomalyConfig({ scopes: reset.scopes, tuning: { reset: { graceMin: 0 } } }) });
    expect(bites(noResetGrace), describeIncidents(noResetGrace).join('\n')).toBe(true);
    expect(bites(outcomeOf(reset))).toBe(false);
  }, SLOW);
});

describe('incident lifecycle over a real attack', () => {
  it('a 10-minute burst opens one incident that resolves a few minutes after the attack stops', () => {
    const base = attacks.find((s) => s.name.startsWith('burst: leaked'))!;
    const at = base.attackStart!;
    const short: Scenario = {
      ...base,
      leaves: base.leaves.map((l) => (l.costPerRequest === 0.06 ? { ...l, rate: between(at, at + 10 * MIN, constant(120)) } : l)),
    };
    const o = runScenario(short);
    const victim = o.result.incidents.filter((i) => i.entityId === 'k-acme-victim');
    expect(victim).toHaveLength(1);
    const inc = victim[0]!;
    expect(inc).toMatchObject({ pattern: 'burst', severity: 'critical', startedAt: at });
    expect(inc.resolvedAt).not.toBeNull();
    expect(inc.resolvedAt! - (at + 10 * MIN)).toBeGreaterThanOrEqual(2 * MIN);
    expect(inc.resolvedAt! - (at + 10 * MIN)).toBeLessThanOrEqual(10 * MIN);
  }, SLOW);
});

describe('report', () => {
  it('precision, recall and detection delay per pattern', () => {
    const report = scenarioReport(all.map(outcomeOf));
    console.log('\nDenial-of-wallet scenarios (critical incidents):');
    console.table(
      report.rows.map((r) => ({
        pattern: r.pattern,
        attacks: r.attacks,
        recall: r.recall,
        'delay min (mean/max)': r.meanDelayMin === null ? '-' : `${r.meanDelayMin.toFixed(2)} / ${r.maxDelayMin!.toFixed(2)}`,
        'critical incidents': r.criticalIncidents,
        'true pos.': r.truePositives,
        'other name, attacked entity': r.crossLabelled,
        'false pos.': r.falsePositives,
        precision: r.precision === null ? '-' : r.precision.toFixed(2),
        'entity precision': r.entityPrecision === null ? '-' : r.entityPrecision.toFixed(2),
        'noise warnings': r.noiseWarnings,
      })),
    );
    console.table(report.traps);
    for (const r of report.rows) {
      expect(r.recall).toBe(1);
      expect(r.falsePositives).toBe(0);
    }
    for (const t of report.traps) expect(t.criticals).toBe(0);
  }, SLOW);
});
