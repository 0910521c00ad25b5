import type { TokenCounts } from './tokens.ts';

/** USD per million tokens: flat, or tiered by the request's total input tokens (genai-prices semantics). */
export type Rate = number | { readonly base: number; readonly tiers: readonly { readonly start: number; readonly price: number }[] };

/**
 * The prices that apply to one event. A kind without its own rate stays inside its parent
 * (cache tokens are billed as input, reasoning as output), as genai-prices does.
 */
export interface RateCard {
  readonly input: Rate | undefined;
  readonly cacheRead: Rate | undefined;
  readonly cacheWrite: Rate | undefined;
  readonly output: Rate | undefined;
  readonly reasoning: Rate | undefined;
  /** Flat fee per priced event (genai-prices `requests_kcount` / 1000). */
  readonly perRequestUsd: number;
}

/** Rate in force for `tokens` given the request's total input (`basis`); tiers apply strictly above `start`. */
function charge(rate: Rate | undefined, tokens: number, basis: number): number {
  if (rate === undefined || tokens <= 0) return 0;
  if (typeof rate === 'number') return rate * tokens;
  let price = rate.base;
  for (const tier of rate.tiers) if (basis > tier.start) price = tier.price;
  return price * tokens;
}

/** Cost in USD of consistent token counts under a rate card. */
export function costOf(card: RateCard, t: TokenCounts): number {
  const cacheRead = card.cacheRead === undefined ? 0 : t.cacheRead;
  const cacheWrite = card.cacheWrite === undefined ? 0 : t.cacheWrite;
  const reasoning = card.reasoning === undefined ? 0 : t.reasoning;
  const perMtok =
    charge(card.input, t.input - cacheRead - cacheWrite, t.input) +
    charge(card.cacheRead, cacheRead, t.input) +
    charge(card.cacheWrite, cacheWrite, t.input) +
    charge(card.output, t.output - reasoning, t.input) +
    charge(card.reasoning, reasoning, t.input);
  return perMtok / 1e6 + card.perRequestUsd;
}

/** A card where every token kind has an explicit rate (overrides) or inherits from its parent. */
export function flatCard(rates: { input: number; output: number; cacheRead?: number | undefined; cacheWrite?: number | undefined; reasoning?: number | undefined }): RateCard {
  return {
    input: rates.input,
    cacheRead: rates.cacheRead,
    cacheWrite: rates.cacheWrite,
    output: rates.output,
    reasoning: rates.reasoning,
    perRequestUsd: 0,
  };
}

/** genai-prices keys we can charge from token counts; other keys (audio hours, pages, searches) need counts we do not have. */
const TOKEN_KEYS = ['input_mtok', 'cache_read_mtok', 'cache_write_mtok', 'output_mtok', 'output_reasoning_mtok', 'requests_kcount'];

function toRate(v: unknown): Rate | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'object' || v === null || !('base' in v) || !('tiers' in v)) return undefined;
  const { base, tiers } = v;
  if (typeof base !== 'number' || !Array.isArray(tiers)) return undefined;
  const sorted = (tiers as { start: number; price: number }[]).map(({ start, price }) => ({ start, price })).sort((a, b) => a.start - b.start);
  return { base, tiers: sorted };
}

/**
 * Rate card for a genai-prices `ModelPrice`, or null when the price exists but none of it is
 * chargeable from token counts (e.g. Whisper per audio hour): pricing that as $0 would be a silent $0.
 * An empty price object is a free model and gives a zero card.
 */
export function cardFromModelPrice(price: Record<string, unknown>): RateCard | null {
  const keys = Object.keys(price).filter((k) => price[k] !== undefined);
  if (keys.length > 0 && !keys.some((k) => TOKEN_KEYS.includes(k))) return null;
  const requests = price['requests_kcount'];
  return {
    input: toRate(price['input_mtok']),
    cacheRead: toRate(price['cache_read_mtok']),
    cacheWrite: toRate(price['cache_write_mtok']),
    output: toRate(price['output_mtok']),
    reasoning: toRate(price['output_reasoning_mtok']),
    perRequestUsd: typeof requests === 'number' && Number.isFinite(requests) && requests >= 0 ? requests / 1000 : 0,
  };
}
