/**
 * The end-to-end scenario suite's report (test/e2e/anomaly-scenarios.test.ts): precision, recall and delay per
 * pattern, the traps' outcome and whether each trap bites without the mechanism that handles it; printed and
 * written to a JSON file under the OS temp directory.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveAnomalyConfig } from '../../core/anomaly/config.ts';
import type { E2eScenario } from './sim-spans.ts';
import { runScenario, scenarioReport, type RunOptions, type ScenarioOutcome } from './traffic-sim.ts';

export interface RevocationEntry {
  kind: string;
  id: string;
  action: string;
  source: string;
}

export interface E2eRun {
  scenario: E2eScenario;
  outcome: ScenarioOutcome;
  /** The pure detector on the same scenario. */
  pure: ScenarioOutcome;
  revoked: RevocationEntry[];
  spans: number;
  ticks: number;
  seconds: number;
  /** Wall-clock seconds spent sending and storing spans, and in detector ticks (incl. reading incidents). */
  ingestSeconds: number;
  tickSeconds: number;
}

/**
 * Does a trap bite at this scale? The pure detector without the mechanism that handles it (the pure suite's check).
 * Quiet traffic is also protected by counting noise, so a trap that only reaches warnings here is shown as such.
 */
function mechanismOff(s: E2eScenario): RunOptions | null {
  if (s.name.includes('growth')) return { baseline: { trendClamp: [0, 0] } };
  if (s.name.includes('batch')) return { baseline: { minSlotSamples: 10_000 } };
  if (s.name.includes('reset')) return { config: resolveAnomalyConfig({ scopes: s.scopes, tuning: { reset: { graceMin: 0 } } }) };
  return null;
}

const fmt = (v: number | null, digits = 2): string => (v === null ? '-' : v.toFixed(digits));

/** Precision, recall and delay per pattern (critical incidents), traps' criticals and warnings: printed and saved. */
export function report(all: E2eRun[]): void {
  const e2e = scenarioReport(all.map((r) => r.outcome));
  const pure = scenarioReport(all.map((r) => r.pure));
  const patterns = e2e.rows.map((r, i) => ({
    pattern: r.pattern,
    scenarios: r.attacks,
    recall: r.recall,
    precision: r.precision,
    precisionAnyName: r.entityPrecision,
    meanDelayMin: r.meanDelayMin,
    maxDelayMin: r.maxDelayMin,
    criticalIncidents: r.criticalIncidents,
    falsePositives: r.falsePositives,
    noiseWarnings: r.noiseWarnings,
    pureMeanDelayMin: pure.rows[i]!.meanDelayMin,
  }));
  const traps = e2e.traps.map((r, i) => {
    const s = all.filter((x) => x.scenario.label === 'trap')[i]!.scenario;
    const off = mechanismOff(s);
    const bite = off === null ? null : runScenario(s, off).result.incidents;
    return {
      ...r,
      pureCriticals: pure.traps[i]!.criticals,
      pureWarnings: pure.traps[i]!.warnings,
      mechanismOff: bite === null ? null : { criticals: bite.filter((x) => x.criticalAt !== null).length, warnings: bite.filter((x) => x.criticalAt === null).length },
    };
  });
  const perScenario = all.map((r) => ({
    scenario: r.scenario.name,
    label: r.scenario.label,
    delayMin: r.outcome.delayMin,
    pureDelayMin: r.pure.delayMin,
    spans: r.spans,
    ticks: r.ticks,
    seconds: Math.round(r.seconds * 10) / 10,
    ingestSeconds: Math.round(r.ingestSeconds * 10) / 10,
    tickSeconds: Math.round(r.tickSeconds * 10) / 10,
    incidents: r.outcome.incidents.map((i) => ({ ...i, criticalAt: i.criticalAt === null ? null : new Date(i.criticalAt).toISOString() })),
  }));
  console.log('\nDenial-of-wallet scenarios end to end (critical incidents; delay = simulated minutes from attack start to first critical; tenant spikes: to first incident):');
  console.table(
    patterns.map((p) => ({
      pattern: p.pattern,
      scenarios: p.scenarios,
      recall: p.recall,
      'precision (strict)': fmt(p.precision),
      'precision (any name)': fmt(p.precisionAnyName),
      'delay min (mean / max)': p.meanDelayMin === null ? '-' : `${fmt(p.meanDelayMin)} / ${fmt(p.maxDelayMin)}`,
      'pure delay (mean)': fmt(p.pureMeanDelayMin),
      'false pos.': p.falsePositives,
      'noise warnings': p.noiseWarnings,
    })),
  );
  console.table(
    traps.map((t) => ({
      trap: t.scenario,
      criticals: t.criticals,
      warnings: t.warnings,
      'pure criticals / warnings': `${t.pureCriticals} / ${t.pureWarnings}`,
      'mechanism off (pure) criticals / warnings': t.mechanismOff === null ? '-' : `${t.mechanismOff.criticals} / ${t.mechanismOff.warnings}`,
    })),
  );
  console.table(perScenario.map((s) => ({ scenario: s.scenario, delay: fmt(s.delayMin), pure: fmt(s.pureDelayMin), spans: s.spans, ticks: s.ticks, seconds: s.seconds, 'ingest s': s.ingestSeconds, 'ticks s': s.tickSeconds })));
  const path = join(tmpdir(), 'tollkeeper-anomaly-e2e-report.json');
  writeFileSync(path, JSON.stringify({ generatedAt: new Date().toISOString(), patterns, traps, scenarios: perScenario }, null, 2));
  console.log(`report written to ${path}`);
}
