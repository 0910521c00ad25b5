import { MINUTE_MS } from './baseline.ts';
import { expectationAt, lastMinutes } from './frame.ts';
import type { EntityFrame } from './frame.ts';
import type { CriticalSpend, EntityObservation, Incident, Severity } from './types.ts';

/** Money at risk for one finding: what the current rate would cost over the next hour vs the usual hour. */
export interface MoneyAtRisk {
  /** Spend over the next hour if the rate of the scored window went on (USD). */
  projectedHourlyUsd: number;
  /** The entity's usual spend in this hour: its own baseline, its peers' for a new entity, else the floor (USD). */
  usualHourlyUsd: number;
  /** What the scored window itself cost (USD); infinite when the usual hour is not the entity's own history. */
  windowUsd: number;
  /** Share of a usual hour the window must have cost before money alone makes it critical (default 1). */
  lumpShare?: number;
  /**
   * The largest single minute the entity spent in its observed hours before the window (own history only, else 0):
   * a window that costs no more than what it already spent at once before is routine, whatever its pace.
   */
  routineUsd?: number;
}

/** What the scored window spent, in how many calls, over how long (the fresh path's run brings its own). */
export interface MoneyWindow {
  usd: number;
  calls: number;
  minutes: number;
  /** Series minute where the window starts (default: as many minutes back from now as it lasts). */
  startIdx?: number;
  /** The window's most expensive single event (USD), when known: it counts as an ordinary one (see `paceUsd`). */
  largestUsd?: number;
  /** Requests alone, when `calls` also counts tool calls: the events a price is spread over (default `calls`). */
  requests?: number;
}

/**
 * The spend the window's pace is judged on: its most expensive single event counts as an ordinary one (the mean of
 * the others), so one request, however expensive, never sets the rate money is projected at, and a window of one
 * event projects nothing. A flood of equal calls keeps its spend unchanged. Without the largest event known (no
 * fresh counters) the window's spend as it is.
 */
export function paceUsd(w: MoneyWindow): number {
  if (w.largestUsd === undefined || !(w.largestUsd > 0)) return w.usd;
  const n = w.requests ?? w.calls;
  if (n < 2) return 0;
  return (Math.max(0, w.usd - w.largestUsd) * n) / (n - 1);
}

/** Largest minute spend in the series before minute `beforeIdx`. */
function largestMinuteBefore(f: EntityFrame, beforeIdx: number): number {
  const cost = f.m.cost_usd.obs;
  let max = 0;
  for (let j = 0; j < Math.min(beforeIdx, cost.length); j++) max = Math.max(max, cost[j] ?? 0);
  return max;
}

/**
 * The last `minutes` of the series as a money window (the minute path's scored window), with its most expensive
 * single event when `largestSince` knows it (from the start of the oldest minute the window touches, even partly).
 */
export function lastWindow(f: EntityFrame, minutes: number, largestSince?: (from: number) => number | undefined): MoneyWindow {
  const cost = lastMinutes(f, 'cost_usd', minutes);
  const largestUsd = largestSince?.(f.o.minuteStart + cost.startIdx * MINUTE_MS);
  return { usd: cost.obs, calls: lastMinutes(f, 'requests', minutes).obs, minutes: cost.minutes, ...(largestUsd !== undefined ? { largestUsd } : {}) };
}

/**
 * Cost rate over the window that scored the finding, projected to an hour, against the usual hour. The projection
 * takes the low end of the window's request count ((√n − margin)²: √n has a Poisson σ of ½, so margin 1 is two σ
 * below) so that a handful of calls in a short window never projects to an expensive hour; a flood projects almost
 * at its rate. The fresh path, whose run already passed a sequential test, uses one σ (margin ½).
 */
export function moneyAtRisk(f: EntityFrame, scoredMinutes: number, cfg: Parameters<typeof expectationAt>[4], window?: MoneyWindow, lumpShare = 1, margin = 1): MoneyAtRisk {
  const w = Math.max(scoredMinutes, 1 / 60);
  const span = window ?? lastWindow(f, w);
  const calls = span.calls;
  const sure = calls > margin * margin ? (Math.sqrt(calls) - margin) ** 2 / calls : 0;
  const pace = paceUsd(span);
  const projected = span.minutes > 0 ? (pace / span.minutes) * 60 * sure : 0;
  // The expectation in force now already picks own history, peers (little history) or the floor (none). Against
  // peers the usual hour is the middle peer's: the expectation (a high quantile) is a bar for "unusual", not
  // what a key of this kind usually spends.
  const now = f.m.cost_usd.seg.length > 0 ? f.m.cost_usd.seg[f.m.cost_usd.seg.length - 1]! : undefined;
  const usual = now ? (now.usual ?? now.mean) * 60 : 0;
  const fallback = usual > 0 ? usual : expectationAt(undefined, undefined, 'cost_usd', f.now, cfg).mean * 60;
  // Only an entity's own history can show that it spends its hour in lumps; against peers or the floor the window
  // counts as already beyond a usual hour.
  const own = f.m.cost_usd.basis === 'own';
  const windowUsd = own ? pace : Number.POSITIVE_INFINITY;
  const startIdx = window?.startIdx ?? Math.max(0, f.n - Math.ceil(w));
  return { projectedHourlyUsd: projected, usualHourlyUsd: fallback, windowUsd, lumpShare, routineUsd: own ? largestMinuteBefore(f, startIdx) : 0 };
}

/**
 * Severity by money at risk: a finding is critical when the projected hour exceeds both `multiple` × the usual
 * hour and `minUsdPerHour`, and the window has already cost more than a usual hour (or `lumpShare` of one) and
 * more than the largest minute the entity spent in its observed hours before, whatever its score; otherwise its
 * score decides, so a cheap oddity that scores a warning stays one (and usage without prices is still judged by its
 * score). The last two conditions keep an entity that routinely spends its hour in one lump (an hourly batch) from
 * projecting that minute to sixty of them.
 */
export function severityByMoney(byScore: Severity, risk: MoneyAtRisk, c: CriticalSpend): Severity {
  const expensive =
    risk.projectedHourlyUsd > c.multiple * risk.usualHourlyUsd &&
    risk.projectedHourlyUsd > c.minUsdPerHour &&
    risk.windowUsd > (risk.lumpShare ?? 1) * risk.usualHourlyUsd &&
    risk.windowUsd > (risk.routineUsd ?? 0);
  return expensive ? 'critical' : byScore;
}

/** Spend (USD) in an observation from `from` (epoch ms, floored to its minute) until its end. */
export function spendSince(o: EntityObservation, from: number): number {
  const first = Math.max(0, Math.floor((from - o.minuteStart) / MINUTE_MS));
  let sum = 0;
  for (let j = first; j < o.series.cost_usd.length; j++) sum += o.series.cost_usd[j] ?? 0;
  return sum;
}

function money(v: number): string {
  return v >= 0.01 || v === 0 ? v.toFixed(2) : v.toPrecision(2);
}

/** "; $12.40 spent from onset to enforcement (14× its usual hour)"; the phrase changes while not yet enforced. */
export function spendPhrase(spendUsd: number, usualHourlyUsd: number | undefined, enforced: boolean): string {
  const times = usualHourlyUsd !== undefined && usualHourlyUsd > 0 ? ` (${(spendUsd / usualHourlyUsd).toFixed(1)}× its usual hour)` : '';
  return `; $${money(spendUsd)} spent ${enforced ? 'from onset to enforcement' : 'since onset'}${times}`;
}

const SPEND_TAIL = /; \$[0-9.e-]+ spent (since onset|from onset to enforcement).*$/;

/**
 * Records on each open incident the spend between its first anomalous minute and its enforcement (the first tick
 * it was critical); once enforced the figure is frozen. Incidents without an observation this tick keep theirs.
 */
export function recordSpend(incidents: readonly Incident[], observations: readonly EntityObservation[], now: number): Incident[] {
  const byKey = new Map<string, EntityObservation>();
  for (const o of observations) byKey.set(`${o.kind}\u0000${o.id}`, o);
  return incidents.map((inc) => {
    // After a restart the stored sentence is all that is left of an enforcement: it stays frozen too.
    const frozen = (inc.enforcedAt !== undefined && inc.enforcedAt !== null) || inc.explanation.includes('spent from onset to enforcement');
    const o = frozen ? undefined : byKey.get(`${inc.kind}\u0000${inc.entityId}`);
    const spendUsd = o ? Math.round(spendSince(o, inc.startedAt) * 1e6) / 1e6 : inc.spendUsd;
    if (spendUsd === undefined) return inc;
    const enforcedAt = frozen ? inc.enforcedAt! : inc.severity === 'critical' ? now : null;
    // A refreshed finding brings a new sentence without the spend: state it again.
    const base = inc.explanation.replace(SPEND_TAIL, '');
    return { ...inc, spendUsd, enforcedAt, explanation: base + spendPhrase(spendUsd, inc.usualHourlyUsd, enforcedAt !== null) };
  });
}
