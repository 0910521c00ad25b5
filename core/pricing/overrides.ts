import { toGenaiProviderId } from './provider-ids.ts';
import { overrideModelNames } from './model-names.ts';
import { flatCard, type RateCard } from './rate-card.ts';
import type { PriceOverride } from './types.ts';

export interface CompiledOverride {
  readonly from: number;
  readonly card: RateCard;
  /** `override:<provider>/<model>@<effective_from>` as written in the config. */
  readonly version: string;
}

interface Entry extends CompiledOverride {
  readonly provider: string;
  readonly genaiProvider: string | undefined;
  readonly model: string;
  readonly order: number;
}

export interface OverrideIndex {
  /** The override in force at `time` for a span's provider and model, if any. */
  find(provider: string, model: string, time: number): CompiledOverride | undefined;
}

function rate(value: number | undefined, path: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new RangeError(`${path}: expected a finite number ≥ 0, got ${String(value)}`);
  return value;
}

function required(value: number, path: string): number {
  const r = rate(value, path);
  if (r === undefined) throw new RangeError(`${path}: required`);
  return r;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(z|[+-]\d{2}:?\d{2})?)?$/i;

/** `YYYY-MM-DD` is UTC midnight; a date-time without an offset is read as UTC, never local time. */
export function parseEffectiveFrom(s: string, path: string): number {
  const text = String(s).trim().replace(' ', 'T');
  const m = DATE_TIME.exec(text);
  const day = text.slice(0, 10);
  // Date.parse rolls 2026-02-30 over to March 2: require the calendar date to round-trip.
  const dayMs = m === null ? Number.NaN : Date.parse(`${day}T00:00:00Z`);
  const realDay = Number.isFinite(dayMs) && new Date(dayMs).toISOString().startsWith(day);
  const at = !realDay ? Number.NaN : Date.parse(text.length === 10 ? `${text}T00:00:00Z` : m?.[1] === undefined ? `${text}Z` : text);
  if (Number.isNaN(at)) throw new RangeError(`${path}: expected YYYY-MM-DD or an ISO date-time, got ${JSON.stringify(s)}`);
  return at;
}

function compile(o: PriceOverride, i: number): Entry {
  const path = `pricing.overrides[${i}]`;
  const input = required(o.input_per_mtok, `${path}.input_per_mtok`);
  const output = required(o.output_per_mtok, `${path}.output_per_mtok`);
  const provider = o.provider.trim().toLowerCase();
  const card = flatCard({
    input,
    output,
    cacheRead: rate(o.cache_read_per_mtok, `${path}.cache_read_per_mtok`) ?? input,
    cacheWrite: rate(o.cache_write_per_mtok, `${path}.cache_write_per_mtok`) ?? input,
    reasoning: rate(o.reasoning_per_mtok, `${path}.reasoning_per_mtok`) ?? output,
  });
  return {
    provider,
    genaiProvider: provider === '*' ? undefined : toGenaiProviderId(provider),
    model: o.model.trim().toLowerCase(),
    from: parseEffectiveFrom(o.effective_from, `${path}.effective_from`),
    card,
    version: `override:${o.provider}/${o.model}@${o.effective_from}`,
    order: i,
  };
}

/** 0 = same provider name, 1 = same genai-prices provider (`azure.ai.openai` ~ `azure`), 2 = `*`, -1 = no match. */
function providerRank(e: Entry, provider: string, genaiProvider: string | undefined): number {
  if (e.provider === provider) return 0;
  if (e.genaiProvider !== undefined && e.genaiProvider === genaiProvider) return 1;
  return e.provider === '*' ? 2 : -1;
}

/**
 * Index operator overrides. Matching is case-insensitive. For a span, candidates are ranked by
 * how closely they match (provider name exact > same genai-prices provider > `*`; model exact >
 * model without vendor prefix / release date), then by latest `effective_from` (a later config
 * entry wins a tie); the first one already in force at the event time applies. Candidate lists
 * are memoized per (provider, model) and cleared at `maxEntries`. Throws RangeError on invalid rates or dates.
 */
export function compileOverrides(list: readonly PriceOverride[], maxEntries = 10_000): OverrideIndex {
  const entries = list.map(compile);
  const memo = new Map<string, readonly Entry[]>();
  const candidates = (provider: string, model: string): readonly Entry[] => {
    const p = provider.trim().toLowerCase();
    const gp = toGenaiProviderId(p);
    const names = overrideModelNames(model);
    const ranked: { e: Entry; rank: number }[] = [];
    for (const e of entries) {
      const pr = providerRank(e, p, gp);
      const mr = names.indexOf(e.model);
      if (pr >= 0 && mr >= 0) ranked.push({ e, rank: pr * 2 + Math.min(mr, 1) });
    }
    ranked.sort((a, b) => a.rank - b.rank || b.e.from - a.e.from || b.e.order - a.e.order);
    return ranked.map((r) => r.e);
  };
  return {
    find(provider, model, time) {
      if (entries.length === 0) return undefined;
      const key = `${provider}\u0000${model}`;
      let list = memo.get(key);
      if (list === undefined) {
        if (memo.size >= maxEntries) memo.clear();
        list = candidates(provider, model);
        memo.set(key, list);
      }
      for (const e of list) if (e.from <= time) return e;
      return undefined;
    },
  };
}
