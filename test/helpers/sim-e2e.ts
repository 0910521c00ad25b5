/**
 * The labelled anomaly stories at end-to-end scale: what each one is (`E2eScenario`) and the helpers the stories are
 * written with. The stories: `sim-e2e-attacks.ts` and `sim-e2e-traps.ts`; the list: `e2eScenarios` in `sim-spans.ts`.
 */
import { DAY, EVAL_DAY, HOUR, MIN, between, mix, type Leaf, type Scenario } from './traffic-sim.ts';

// `scenarios()` draws up to a few million requests of history per story; through the real pipeline (OTel SDK →
// collector → ClickHouse, a few thousand spans a second here) that would be minutes each. Since one span is one
// request (so request-count baselines stay real), the e2e suite runs the same stories, with the same names, labels
// and targets, at a smaller scale: fewer and quieter keys, some active only in working hours, attacks at full strength
// where the pattern allows, and costs raised where a trap must clear the cost floor. Quiet traffic is also protected by
// counting noise, so the suite reports whether each trap still bites at this scale (pure detector, mechanism off).

/** An end-to-end scenario: where its history starts (the spans go back that far) and the config it needs. */
export interface E2eScenario extends Scenario {
  historyFrom: number;
  /** Extra `tollkeeper.yaml` lines (e.g. the daily quota whose reset the detector must know about). */
  yaml: string;
}

export const E2E_HISTORY_DAYS = 21;

/** Traffic only between UTC hours [from, to) of each day (a tenant active in working hours). */
export const during = (from: number, to: number, r: (t: number) => number) => (t: number): number => {
  const h = (t % DAY) / HOUR;
  return h >= from && h < to ? r(t) : 0;
};

export const attackAt = (h: number): number => EVAL_DAY + h * HOUR;

/** A job at hh:00 each day, starting 0–3 min late and running ±3 min (as in `scenarios()`). */
export const dailyAt = (hour: number, minutes: number, rate: number, seed: number) => (t: number): number => {
  const day = Math.floor(t / DAY);
  const start = day * DAY + hour * HOUR + (mix(seed, day) % 4) * MIN;
  return t >= start && t < start + (minutes + (mix(seed, day, 5) % 7) - 3) * MIN ? rate : 0;
};

interface Spec extends Partial<Omit<Scenario, 'name' | 'description' | 'seed' | 'leaves' | 'evalFrom' | 'evalTo'>> {
  name: string;
  description: string;
  seed: number;
  leaves: Leaf[];
  evalFrom: number;
  evalTo: number;
  historyDays?: number;
  yaml?: string;
}

/** Every leaf starts with the history the spans carry, so the pure and the e2e run see the same traffic. */
export function e2e(o: Spec): E2eScenario {
  const historyFrom = EVAL_DAY - (o.historyDays ?? E2E_HISTORY_DAYS) * DAY;
  return {
    name: o.name,
    label: o.label ?? 'trap',
    description: o.description,
    seed: o.seed,
    leaves: o.leaves.map((l) => ({ ...l, rate: between(historyFrom, Infinity, l.rate) })),
    scopes: o.scopes ?? ['api_key', 'tenant', 'agent'],
    attackStart: o.attackStart ?? null,
    targets: o.targets ?? [],
    boundMin: o.boundMin ?? null,
    evalFrom: o.evalFrom,
    evalTo: o.evalTo,
    tickEveryMin: o.tickEveryMin ?? 1,
    historyFrom,
    yaml: o.yaml ?? '',
  };
}
