import type { ModelInfo } from '@pydantic/genai-prices';
import { cardFromModelPrice, type RateCard } from './rate-card.ts';

type When = { kind: 'always' } | { kind: 'from'; at: number } | { kind: 'daily'; start: number; end: number };

/** One price of a model; `price` is null when it cannot be charged from token counts. */
export interface ScheduledPrice {
  readonly when: When;
  readonly price: { readonly card: RateCard; readonly version: string } | null;
}

/** A model's prices over time, selectable per event without calling genai-prices again. */
export type PriceSchedule = readonly ScheduledPrice[];

const DAY_MS = 86_400_000;

/** `HH:MM:SS[.fff](Z|±HH:MM)` → milliseconds after UTC midnight (as genai-prices parses it); NaN when malformed. */
function timeOfDayMs(s: string): number {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):(\d{2}))$/.exec(s);
  if (!m) return Number.NaN;
  const local = (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(`0.${m[4] ?? '0'}`)) * 1000;
  const offset = m[5] === 'Z' ? 0 : (m[6] === '+' ? 1 : -1) * (Number(m[7]) * 60 + Number(m[8])) * 60_000;
  return (((local - offset) % DAY_MS) + DAY_MS) % DAY_MS;
}

function compileWhen(constraint: unknown): { when: When; label: string } {
  if (typeof constraint !== 'object' || constraint === null) return { when: { kind: 'always' }, label: '' };
  const c = constraint as { start_date?: unknown; start_time?: unknown; end_time?: unknown };
  if (typeof c.start_date === 'string') return { when: { kind: 'from', at: Date.parse(c.start_date) }, label: `@${c.start_date}` };
  if (typeof c.start_time === 'string' && typeof c.end_time === 'string') {
    const when: When = { kind: 'daily', start: timeOfDayMs(c.start_time), end: timeOfDayMs(c.end_time) };
    return { when, label: `@${c.start_time}-${c.end_time}` };
  }
  return { when: { kind: 'always' }, label: '' };
}

/**
 * Compile a genai-prices model's (possibly conditional) prices. Each version is `version` plus
 * `@<start_date>` for a dated price or `@<start>-<end>` for a time-of-day one.
 */
export function compileSchedule(version: string, model: ModelInfo): PriceSchedule {
  const list = Array.isArray(model.prices) ? model.prices : [{ prices: model.prices }];
  return list.map((p) => {
    const { when, label } = compileWhen(p.constraint);
    const card = cardFromModelPrice(p.prices);
    return { when, price: card === null ? null : { card, version: version + label } };
  });
}

function holds(when: When, time: number): boolean {
  switch (when.kind) {
    case 'always':
      return true;
    case 'from':
      return time >= when.at;
    case 'daily': {
      const t = ((time % DAY_MS) + DAY_MS) % DAY_MS;
      return when.end < when.start ? t >= when.start || t < when.end : t >= when.start && t < when.end;
    }
  }
}

/** The entry in force at `time`: the last one whose constraint holds, else the first (genai-prices rule). */
export function entryAt(schedule: PriceSchedule, time: number): ScheduledPrice | undefined {
  for (let i = schedule.length - 1; i >= 0; i--) {
    const e = schedule[i];
    if (e !== undefined && holds(e.when, time)) return e;
  }
  return schedule[0];
}
