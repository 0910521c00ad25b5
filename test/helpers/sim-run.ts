// Running the scenarios through the detector (replayDetection, in simulated time) and summing up the outcome.
import { buildBaseline, entityKey } from '../../core/anomaly/baseline.ts';
import type { BaselineOptions } from '../../core/anomaly/baseline.ts';
import { buildPeerBaseline, peerBaselineFromObservations } from '../../core/anomaly/peers.ts';
import { resolveAnomalyConfig } from '../../core/anomaly/config.ts';
import { replayDetection } from '../../core/anomaly/replay.ts';
import type { ReplayResult, ReplayTick } from '../../core/anomaly/replay.ts';
import { METRICS } from '../../core/anomaly/types.ts';
import type { FreshBucket, FreshSeries } from '../../core/anomaly/fresh-counters.ts';
import type { FreshInput } from '../../core/anomaly/fresh-findings.ts';
import type { AnomalyConfig, Baseline, EntityHistory, EntityObservation, Metric, Pattern, PeerBaseline } from '../../core/anomaly/types.ts';
import type { EntityKind } from '../../core/usage/types.ts';
import { drawHour, drawMinute, entitiesOfLeaf, HOUR, MIN, T0, type Scenario, type ScenarioLabel, type SimEntity, type Totals } from './sim-model.ts';
import { scenarios } from './sim-scenarios.ts';

interface Prepared {
  s: Scenario;
  entities: SimEntity[];
  minuteFrom: number;
  minutes: Array<Record<Metric, number[]>>;
  /** Per entity and minute, the largest cost of one request among the leaves active then (the fresh path caps it). */
  maxCost: number[][];
  hours: Array<Record<Metric, number[]>>;
}

const OBSERVED_MINUTES = 360;
const filled = (n: number): number[] => new Array<number>(n).fill(0);
const arrays = (n: number): Record<Metric, number[]> => ({ cost_usd: filled(n), tokens: filled(n), requests: filled(n), tool_calls: filled(n) });

function prepare(s: Scenario): Prepared {
  const index = new Map<string, number>();
  const entities: SimEntity[] = [];
  const leafEntities = s.leaves.map((l) =>
    entitiesOfLeaf(l).map((e) => {
      const k = entityKey(e.kind, e.id);
      if (!index.has(k)) {
        index.set(k, entities.length);
        entities.push(e);
      }
      return index.get(k)!;
    }),
  );
  const minuteFrom = Math.floor(s.evalFrom / MIN) * MIN - OBSERVED_MINUTES * MIN;
  const nMin = Math.ceil((s.evalTo - minuteFrom) / MIN) + 2;
  const nHour = Math.floor(s.evalTo / HOUR) - T0 / HOUR + 1;
  const minutes = entities.map(() => arrays(nMin));
  const maxCost = entities.map(() => filled(nMin));
  const hours = entities.map(() => arrays(nHour));
  s.leaves.forEach((leaf, li) => {
    const add = (target: Array<Record<Metric, number[]>>, i: number, v: Totals): void => {
      for (const e of leafEntities[li]!) for (const m of METRICS) target[e]![m][i]! += v[m];
    };
    for (let i = 0; i < nMin; i++) {
      const v = drawMinute(s.seed, li, leaf, minuteFrom + i * MIN);
      add(minutes, i, v);
      if (v.requests > 0) for (const e of leafEntities[li]!) maxCost[e]![i] = Math.max(maxCost[e]![i]!, v.cost_usd / v.requests);
    }
    for (let i = 0; i < nHour; i++) add(hours, i, drawHour(s.seed, li, leaf, T0 + i * HOUR));
  });
  return { s, entities, minuteFrom, minutes, maxCost, hours };
}

/**
 * The fresh path's input at `now` as the sim can give it: the last 30 minutes in one-minute buckets (the current
 * one partial), each with up to three requests of its largest per-request cost. Coarser than the detector's 10 s
 * buckets, which only makes the sequential tests slower to alarm, never quicker.
 */
function freshAt(p: Prepared, now: number): FreshInput {
  const cur = Math.floor(now / MIN) * MIN;
  const frac = (now - cur) / MIN;
  const idx = (cur - p.minuteFrom) / MIN;
  const series = new Map<string, FreshSeries>();
  p.entities.forEach((e, i) => {
    const buckets: FreshBucket[] = [];
    for (let j = Math.max(0, idx - 29); j <= idx; j++) {
      const w = j === idx ? frac : 1;
      const m = p.minutes[i]!;
      if (m.requests[j]! + m.cost_usd[j]! + m.tool_calls[j]! <= 0) continue;
      const top = new Array<number>(Math.min(3, Math.ceil(m.requests[j]! * w))).fill(p.maxCost[i]![j]!);
      buckets.push({ start: p.minuteFrom + j * MIN, requests: m.requests[j]! * w, tool_calls: m.tool_calls[j]! * w, tokens: m.tokens[j]! * w, cost_usd: m.cost_usd[j]! * w, top });
    }
    if (buckets.length > 0) series.set(entityKey(e.kind, e.id), { kind: e.kind, id: e.id, tenant: e.tenant, buckets });
  });
  return { series, from: cur - 29 * MIN };
}

/** What the ClickHouse query would return at `now`: the last 360 minutes, the current one partial. */
function observationsAt(p: Prepared, now: number): EntityObservation[] {
  const cur = Math.floor(now / MIN) * MIN;
  const frac = (now - cur) / MIN;
  const idx = (cur - p.minuteFrom) / MIN;
  const start = Math.max(0, idx - OBSERVED_MINUTES + 1);
  const out: EntityObservation[] = [];
  p.entities.forEach((e, i) => {
    const series = {} as Record<Metric, number[]>;
    let any = false;
    for (const m of METRICS) {
      const v = p.minutes[i]![m].slice(start, idx + 1);
      v[v.length - 1]! *= frac;
      any ||= v.some((x) => x > 0);
      series[m] = v;
    }
    if (any) out.push({ kind: e.kind, id: e.id, tenant: e.tenant, minuteStart: p.minuteFrom + start * MIN, series });
  });
  return out;
}

/** Hourly history up to the hour before the current one; entities without any history get none (new keys). */
function historiesAt(p: Prepared, now: number): EntityHistory[] {
  const end = Math.floor(now / HOUR) - T0 / HOUR;
  const out: EntityHistory[] = [];
  p.entities.forEach((e, i) => {
    const hourly = {} as Record<Metric, number[]>;
    for (const m of METRICS) hourly[m] = p.hours[i]![m].slice(0, end);
    if (hourly.requests.some((x) => x > 0)) out.push({ kind: e.kind, id: e.id, hourStart: T0, hourly });
  });
  return out;
}

function* ticks(p: Prepared, baselineOpts: BaselineOptions, fresh: boolean): Generator<ReplayTick> {
  let hour = Number.NaN;
  let baselines = new Map<string, Baseline>();
  let peers = new Map<EntityKind, PeerBaseline>();
  for (let t = p.s.evalFrom; t <= p.s.evalTo; t += p.s.tickEveryMin * MIN) {
    const now = t + 45_000;
    if (Math.floor(now / HOUR) !== hour) {
      hour = Math.floor(now / HOUR);
      baselines = new Map(historiesAt(p, now).map((h) => [entityKey(h.kind, h.id), buildBaseline(h, hour * HOUR, baselineOpts)]));
      peers = new Map();
      for (const kind of ['api_key', 'tenant', 'agent'] as const) {
        const peer = buildPeerBaseline(kind, baselines.values());
        if (peer) peers.set(kind, peer);
      }
    }
    const observations = observationsAt(p, now);
    const tickPeers = new Map(peers);
    const conv = peerBaselineFromObservations('conversation', observations);
    if (conv) tickPeers.set('conversation', conv);
    yield { now, observations, baselines, peers: tickPeers, ...(fresh ? { fresh: freshAt(p, now) } : {}) };
  }
}

export interface IncidentSummary {
  pattern: Pattern;
  kind: EntityKind;
  id: string;
  criticalAt: number | null;
  verdict: 'true_positive' | 'cross_labelled' | 'false_positive';
  explanation: string;
}

export interface ScenarioOutcome {
  scenario: Scenario;
  result: ReplayResult;
  /** Minutes from attack start to the first critical incident of the labelled pattern on a target (tenant spikes: the first incident, see `caughtAt`). */
  delayMin: number | null;
  incidents: IncidentSummary[];
}

export interface RunOptions {
  config?: AnomalyConfig;
  /** Baseline options, e.g. to show what a trap does to a detector without seasonality or trend. */
  baseline?: BaselineOptions;
  /** Also feed the fresh path (sequential tests) from the minute series. */
  fresh?: boolean;
}

export function runScenario(s: Scenario, opts: RunOptions = {}): ScenarioOutcome {
  const config = opts.config ?? resolveAnomalyConfig({ scopes: s.scopes });
  const result = replayDetection(ticks(prepare(s), opts.baseline ?? {}, opts.fresh ?? false), config);
  return { scenario: s, result, ...classify(s, result.incidents) };
}

/**
 * A moderate tenant-wide rise warns (revoking a whole tenant takes money at risk, not a score): a tenant spike is
 * caught by its first incident, warning or not; every other attack by its first critical one.
 */
export const caughtAt = (label: ScenarioLabel, inc: { criticalAt: number | null; detectedAt: number; flaggedAt?: number }): number | null =>
  label === 'tenant_spike' ? (inc.flaggedAt ?? inc.detectedAt) : inc.criticalAt;

function classify(s: Scenario, all: ReplayResult['incidents']): Pick<ScenarioOutcome, 'delayMin' | 'incidents'> {
  const targets = new Set(s.targets.map((t) => entityKey(t.kind, t.id)));
  const incidents = all.map((inc): IncidentSummary => {
    const onTarget = targets.has(entityKey(inc.kind, inc.entityId)) && s.attackStart !== null && (inc.criticalAt ?? inc.detectedAt) >= s.attackStart;
    const verdict = !onTarget ? 'false_positive' : inc.pattern === s.label ? 'true_positive' : 'cross_labelled';
    return { pattern: inc.pattern, kind: inc.kind, id: inc.entityId, criticalAt: inc.criticalAt, verdict, explanation: inc.explanation };
  });
  const delays = all
    .map((inc, i) => (incidents[i]!.verdict === 'true_positive' ? caughtAt(s.label, inc) : null))
    .filter((at): at is number => at !== null)
    .map((at) => (at - s.attackStart!) / MIN);
  return { delayMin: delays.length > 0 ? Math.min(...delays) : null, incidents };
}

export interface ReportRow {
  pattern: Pattern;
  attacks: number;
  detected: number;
  recall: number;
  meanDelayMin: number | null;
  maxDelayMin: number | null;
  criticalIncidents: number;
  truePositives: number;
  crossLabelled: number;
  falsePositives: number;
  /** Strict: right pattern on an attacked entity / all critical incidents of the pattern. */
  precision: number | null;
  /** Lenient: critical incidents on an attacked entity (any pattern name) / all of the pattern. */
  entityPrecision: number | null;
  /** Incidents that stayed warnings, on entities not under attack (reported as noise). */
  noiseWarnings: number;
}

export interface TrapRow {
  scenario: string;
  criticals: number;
  warnings: number;
}

const PATTERN_LIST: Pattern[] = ['burst', 'runaway_loop', 'slow_drip', 'tenant_spike'];

/** Per-pattern precision / recall / detection delay (critical incidents), and per-trap criticals and warnings. */
export function scenarioReport(outcomes: ScenarioOutcome[] = scenarios().map((s) => runScenario(s))): { rows: ReportRow[]; traps: TrapRow[]; outcomes: ScenarioOutcome[] } {
  const rows = PATTERN_LIST.map((pattern): ReportRow => {
    const attacks = outcomes.filter((o) => o.scenario.label === pattern);
    const delays = attacks.map((o) => o.delayMin).filter((d): d is number => d !== null);
    const criticals = outcomes.flatMap((o) => o.incidents).filter((i) => i.pattern === pattern && i.criticalAt !== null);
    const count = (v: IncidentSummary['verdict']): number => criticals.filter((i) => i.verdict === v).length;
    const all = outcomes.flatMap((o) => o.incidents).filter((i) => i.pattern === pattern);
    return {
      pattern,
      attacks: attacks.length,
      detected: delays.length,
      recall: attacks.length > 0 ? delays.length / attacks.length : 0,
      meanDelayMin: delays.length > 0 ? delays.reduce((a, b) => a + b, 0) / delays.length : null,
      maxDelayMin: delays.length > 0 ? Math.max(...delays) : null,
      criticalIncidents: criticals.length,
      truePositives: count('true_positive'),
      crossLabelled: count('cross_labelled'),
      falsePositives: count('false_positive'),
      precision: criticals.length > 0 ? count('true_positive') / criticals.length : null,
      entityPrecision: criticals.length > 0 ? (count('true_positive') + count('cross_labelled')) / criticals.length : null,
      noiseWarnings: all.filter((i) => i.criticalAt === null && i.verdict === 'false_positive').length,
    };
  });
  const traps = outcomes
    .filter((o) => o.scenario.label === 'trap')
    .map((o) => ({
      scenario: o.scenario.name,
      criticals: o.result.incidents.filter((i) => i.criticalAt !== null).length,
      warnings: o.result.incidents.filter((i) => i.criticalAt === null).length,
    }));
  return { rows, traps, outcomes };
}

/** Classifies incidents observed elsewhere (e.g. from the incidents API) the way `runScenario` does. */
export function outcomeOf(s: Scenario, incidents: ReplayResult['incidents']): ScenarioOutcome {
  return { scenario: s, result: { incidents, findings: [] }, ...classify(s, incidents) };
}
