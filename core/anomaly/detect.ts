import type { EntityKind } from '../usage/types.ts';
import { DAY_MS, MINUTE_MS, entityKey } from './baseline.ts';
import { explain } from './explain.ts';
import { freshCandidate, type FreshCandidate, type FreshInput } from './fresh-findings.ts';
import { buildFrame } from './frame.ts';
import type { EntityFrame } from './frame.ts';
import type { FreshSeries } from './fresh-counters.ts';
import { lastWindow, moneyAtRisk, severityByMoney, type MoneyWindow } from './money.ts';
import { rateSpike, runawayLoop, slowDrip, stillAbove, stillGoing } from './patterns.ts';
import type { SequentialRun } from './sequential.ts';
import { isBroad, tenantBreadth } from './tenant-breadth.ts';
import type { Candidate } from './patterns.ts';
import { severityFor } from './score.ts';
import type { AnomalyConfig, Baseline, DetectorState, EntityObservation, Finding, Pattern, PeerBaseline } from './types.ts';
import { excessOver } from './window-scores.ts';

export interface DetectInput {
  now: number;
  observations: readonly EntityObservation[];
  /** Keyed by `entityKey(kind, id)`. */
  baselines: ReadonlyMap<string, Baseline>;
  peers: ReadonlyMap<EntityKind, PeerBaseline>;
  config: AnomalyConfig;
  /** Recent quota period starts (epoch ms) from the policies; default: the start of the current UTC day. */
  periodResets?: readonly number[];
  /** Usage in sub-minute buckets for the sequential tests (the fresh path); without it only the minute series count. */
  fresh?: FreshInput;
}

export interface DetectResult {
  state: DetectorState;
  findings: Finding[];
  /** Entity+patterns still anomalous but explained by another pattern: their open incidents stay open. */
  held: Held[];
}

export function emptyDetectorState(): DetectorState {
  return { version: 1, active: {} };
}

/** Kinds whose findings are critical only by money at risk, never by score alone. */
const AGGREGATES: ReadonlySet<EntityKind> = new Set<EntityKind>(['tenant', 'agent']);

function activeKey(kind: string, id: string, pattern: string): string {
  return `${kind}\u0000${id}\u0000${pattern}`;
}

function recentlyActive(state: DetectorState, f: EntityFrame, pattern: string, cfg: AnomalyConfig, now: number): boolean {
  const last = state.active[activeKey(f.o.kind, f.o.id, pattern)];
  return last !== undefined && now - last <= cfg.tuning.hysteresisMs;
}

/** The most expensive single event of an entity from `from` (epoch ms) on, per its fresh buckets (undefined without them). */
type LargestSince = (from: number) => number | undefined;

function largestIn(series: FreshSeries | undefined): LargestSince {
  return (from) => {
    if (!series) return undefined;
    let max = 0;
    for (const b of series.buckets) if (b.start >= from) max = Math.max(max, b.top[0] ?? 0);
    return max;
  };
}

/** The minute path's scored window as money: its last minutes, with the largest single event the fresh counters know. */
function minuteWindow(f: EntityFrame, minutes: number, largest: LargestSince): MoneyWindow {
  return lastWindow(f, Math.max(minutes, 1 / 60), largest);
}

function toFinding(f: EntityFrame, c: Candidate | FreshCandidate, state: DetectorState, cfg: AnomalyConfig, now: number, largest: LargestSince): Finding | null {
  const { kind, id, tenant } = f.o;
  const scale = recentlyActive(state, f, c.pattern, cfg, now) ? cfg.tuning.hysteresis : 1;
  const scored = severityFor(c.score, cfg.thresholds, scale);
  if (scored === null) return null;
  // The fresh path's evidence grows with every event, so its score soon passes any bar: there only money at risk
  // makes a finding critical (a cheap oddity warns); the minute path's score still can. A tenant or an agent
  // gathers many keys' traffic, and acting on it stops all of them: it is critical only by money at risk.
  const byScore = 'window' in c || AGGREGATES.has(kind) ? 'warning' : scored;
  // A fresh run is judged on its own spend; it may turn critical after half a usual hour (`lumpShare`), its call
  // count discounted by one σ rather than two (it already passed a sequential test).
  // Either way the window's most expensive single event counts as an ordinary one: one request never sets the pace.
  const risk = 'window' in c ? moneyAtRisk(f, c.scoredMinutes, cfg, c.window, cfg.tuning.sequential.lumpShare, 0.5) : moneyAtRisk(f, c.scoredMinutes, cfg, minuteWindow(f, c.scoredMinutes, largest));
  const severity = severityByMoney(byScore, risk, cfg.criticalSpend);
  const s = c.span;
  const spread = c.sigma * s.minutes;
  const base = { pattern: c.pattern, kind, id, metric: c.metric, observed: s.obs, expected: s.exp, spread, minutes: s.minutes, basis: f.m[c.metric].basis };
  const explanation = explain(c.cv === undefined ? base : { ...base, cv: c.cv });
  const round = (v: number): number => Math.round(v * 1e6) / 1e6;
  return {
    kind,
    id,
    tenant,
    pattern: c.pattern,
    severity,
    score: Math.round(Math.min(c.score, 1e6) * 100) / 100,
    metric: c.metric,
    observed: round(s.obs),
    expected: round(s.exp),
    expectedSpread: round(spread),
    windowStart: s.start,
    windowEnd: now,
    explanation,
    projectedHourlyUsd: round(risk.projectedHourlyUsd),
    usualHourlyUsd: round(risk.usualHourlyUsd),
  };
}

/** An entity+pattern still anomalous this tick whose finding was not reported (another pattern explains it). */
export interface Held {
  kind: EntityKind;
  id: string;
  pattern: Pattern;
}

/** The findings reported for one entity, and the patterns held: anomalous, but explained by another pattern. */
interface EntityVerdict {
  findings: Finding[];
  held: Pattern[];
}

/**
 * Own-entity patterns in priority order: a loop explains a burst, and either explains a drip. "Explains" also
 * holds for a few minutes after the stronger pattern was last seen, so one attack keeps one name; and while a drip
 * runs, a loop or a burst that only warns is the drip (a 3× drip's short runs reach 4×, and ten minutes of it can
 * look as steady as a loop), not a new attack. A pattern explained away is held, not absent: its open incident stays open (the entity is not back to
 * normal), and so does the explaining pattern's while it is in its hold-off.
 */
function entityFindings(f: EntityFrame, fresh: FreshCandidate | null, largest: LargestSince, state: DetectorState, cfg: AnomalyConfig, now: number, resets: readonly number[]): EntityVerdict {
  const t = cfg.tuning;
  const finding = (c: Candidate | null): Finding | null => c && toFinding(f, c, state, cfg, now, largest);
  const loop = finding(runawayLoop(f, cfg, resets));
  const burst = worse(finding(rateSpike(f, cfg, { pattern: 'burst', ...t.burst, resets })), finding(fresh?.pattern === 'burst' ? fresh : null));
  const minuteDrip = finding(slowDrip(f, cfg));
  // The fresh path's drip test remembers its window (30 min): a drip that stopped is over on both paths alike.
  const freshDrip = fresh?.pattern === 'slow_drip' && stillGoing(f, fresh.metric, fresh.span, t.slowDrip.recentMin) ? fresh : null;
  const drip = worse(minuteDrip, finding(freshDrip));
  const present = (ps: [Pattern, Finding | null][]): Pattern[] => ps.filter(([, x]) => x !== null).map(([p]) => p);
  // While a drip runs, a loop or a burst that only warns is the drip: its fast or its steady stretches.
  const dripRunning = minuteDrip !== null || recentlyActive(state, f, 'slow_drip', cfg, now);
  const takesOver = (x: Finding | null): x is Finding => x !== null && (x.severity === 'critical' || !dripRunning);
  if (takesOver(loop)) return { findings: [loop], held: present([['burst', burst], ['slow_drip', drip]]) };
  if (recentlyActive(state, f, 'runaway_loop', cfg, now)) {
    const held = present([['burst', burst], ['slow_drip', drip]]);
    return { findings: [], held: held.length > 0 ? ['runaway_loop', ...held] : [] };
  }
  if (takesOver(burst)) return { findings: [burst], held: present([['slow_drip', drip]]) };
  if (loop || burst) return { findings: drip ? [drip] : [], held: drip ? [] : ['slow_drip'] };
  if (recentlyActive(state, f, 'burst', cfg, now)) return { findings: [], held: drip ? ['burst', 'slow_drip'] : [] };
  if (drip) return { findings: [drip], held: [] };
  // The fresh path's drip test may miss a few minutes of a drip (a slow stretch, before the minute path's 60-minute
  // run exists): a key reported dripping in the last 3 min whose last minutes are still above the drip allowance is
  // not back to normal.
  const dripping = recentlyActive(state, f, 'slow_drip', cfg, now) && stillAbove(f, t.slowDrip);
  return { findings: [], held: dripping ? ['slow_drip'] : [] };
}

/** Of the minute path's and the fresh path's findings for one pattern, the more severe (then higher-scoring) one. */
function worse(a: Finding | null, b: Finding | null): Finding | null {
  if (a === null || b === null) return a ?? b;
  if (a.severity !== b.severity) return a.severity === 'critical' ? a : b;
  return b.score > a.score ? b : a;
}

/** A tenant finding is "explained" when keys with their own findings carry enough of the tenant's excess. */
function explainedByKeys(tenant: EntityFrame, c: Candidate, flaggedKeys: readonly EntityFrame[], share: number): boolean {
  if (flaggedKeys.length === 0) return false;
  const tenantExcess = excessOver(tenant, c.metric, c.scoredMinutes);
  const keyExcess = flaggedKeys.reduce((a, k) => a + excessOver(k, c.metric, c.scoredMinutes), 0);
  return keyExcess >= share * tenantExcess;
}

function tenantFindings(f: EntityFrame, fresh: FreshCandidate | null, largest: LargestSince, flagged: readonly EntityFrame[], activeKeys: number, state: DetectorState, cfg: AnomalyConfig, now: number, resets: readonly number[]): Finding[] {
  // Flagged keys explain their tenant when they are a few of its keys; when most of them rise at once, that is
  // what a tenant spike is (the fresh path can flag each key of a tenant-wide rise on its own).
  const keys = flagged.length <= Math.max(1, activeKeys / 2) ? flagged : [];
  const t = cfg.tuning;
  const out: Finding[] = [];
  const unexplained = (c: Candidate | null): Finding | null => (c && !explainedByKeys(f, c, keys, t.tenantSpike.explainedShare) ? toFinding(f, c, state, cfg, now, largest) : null);
  const spike = worse(unexplained(rateSpike(f, cfg, { pattern: 'tenant_spike', minEvents: t.burst.minEvents, ...t.tenantSpike, resets })), unexplained(fresh));
  if (spike) out.push(spike);
  if (out.length === 0) {
    const drip = slowDrip(f, cfg);
    if (drip && !explainedByKeys(f, drip, keys, t.tenantSpike.explainedShare)) {
      const finding = toFinding(f, drip, state, cfg, now, largest);
      if (finding) out.push(finding);
    }
  }
  return out;
}

/**
 * One detector tick, pure: state in → state out. Everything is recomputed from the per-minute series, so the
 * state only carries hysteresis (recently active entity+pattern pairs) and may be lost without harm.
 */
export function detect(stateIn: DetectorState, input: DetectInput): DetectResult {
  const { now, config: cfg } = input;
  // Tolerate a state from an older or foreign serialization: hysteresis is a nicety, never a reason to fail.
  const state: DetectorState = { version: 1, active: typeof stateIn?.active === 'object' && stateIn.active !== null ? stateIn.active : {} };
  const scopes = new Set(cfg.scopes);
  const resets = input.periodResets ?? [Math.floor(now / DAY_MS) * DAY_MS];
  const frames: EntityFrame[] = [];
  for (const o of input.observations) {
    // api_keys are framed even out of scope: a tenant spike needs to know whether one of its keys explains it.
    if (!scopes.has(o.kind) && o.kind !== 'api_key') continue;
    const f = buildFrame(o, input.baselines.get(entityKey(o.kind, o.id)), input.peers.get(o.kind), now, cfg);
    if (f) frames.push(f);
  }
  const keysByTenant = new Map<string, EntityFrame[]>();
  for (const f of frames) {
    if (f.o.kind !== 'api_key' || f.o.tenant === '') continue;
    const list = keysByTenant.get(f.o.tenant);
    if (list) list.push(f);
    else keysByTenant.set(f.o.tenant, [f]);
  }
  const sq = cfg.tuning.sequential;
  const freshOf = (f: EntityFrame): FreshCandidate | null => {
    const fresh = input.fresh;
    const series = fresh?.series.get(entityKey(f.o.kind, f.o.id));
    if (!series || !fresh) return null;
    // A tenant's run with most of its keys above their own expectation is a tenant-wide rise: it warns sooner.
    const keys = f.o.kind === 'tenant' ? (keysByTenant.get(f.o.id) ?? []) : [];
    const broad = keys.length > 0 ? (run: SequentialRun) => isBroad(tenantBreadth(keys, fresh.series, run.start), sq.broadShare, sq.broadMinKeys) : undefined;
    return freshCandidate(f, series, fresh.from, cfg, resets, broad);
  };
  const largestOf = (f: EntityFrame): LargestSince => largestIn(input.fresh?.series.get(entityKey(f.o.kind, f.o.id)));
  const findings: Finding[] = [];
  const held: Held[] = [];
  const flaggedByTenant = new Map<string, EntityFrame[]>();
  for (const f of frames) {
    if (f.o.kind === 'tenant') continue;
    const verdict = entityFindings(f, freshOf(f), largestOf(f), state, cfg, now, resets);
    const own = verdict.findings;
    if (scopes.has(f.o.kind)) for (const pattern of verdict.held) held.push({ kind: f.o.kind, id: f.o.id, pattern });
    if (own.length > 0 && f.o.kind === 'api_key' && f.o.tenant !== '') {
      flaggedByTenant.set(f.o.tenant, [...(flaggedByTenant.get(f.o.tenant) ?? []), f]);
    }
    if (scopes.has(f.o.kind)) findings.push(...own);
  }
  if (scopes.has('tenant')) {
    for (const f of frames) if (f.o.kind === 'tenant') findings.push(...tenantFindings(f, freshOf(f), largestOf(f), flaggedByTenant.get(f.o.id) ?? [], keysByTenant.get(f.o.id)?.length ?? 0, state, cfg, now, resets));
  }
  const active: Record<string, number> = {};
  for (const [k, at] of Object.entries(state.active)) if (now - at <= cfg.tuning.hysteresisMs && at <= now + MINUTE_MS) active[k] = at;
  for (const x of findings) active[activeKey(x.kind, x.id, x.pattern)] = now;
  return { state: { version: 1, active }, findings, held };
}
