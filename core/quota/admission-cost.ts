import type { PriceInput, PriceResult, PriceSource } from '../pricing/types.ts';
import { normalizeProvider } from '../usage/families.ts';

/** What a gateway knows about a call before making it. */
export interface CallEstimate {
  model: string;
  provider: string;
  inputTokens: number;
  maxOutputTokens: number;
}

export type WorstCaseCost = { ok: true; costUsd: number; costSource: PriceSource; priceVersion: string } | { ok: false; reason: string };

/**
 * The most a call can cost, priced by the same pricer as stored usage at the time `at`. The split of its tokens is
 * unknown before the call, so each extreme is priced: all input fresh or all written to the cache (a cache write
 * can cost more than fresh input), all output plain or all reasoning (reasoning can cost more); the dearest wins.
 * A model nothing can price (no override, not in the bundled prices, no fallback) has no worst case.
 */
export function worstCaseCost(pricer: { price(i: PriceInput): PriceResult }, e: CallEstimate, at: number): WorstCaseCost {
  const base: PriceInput = {
    provider: normalizeProvider(e.provider),
    model: e.model,
    time: at,
    inputTokens: e.inputTokens,
    outputTokens: e.maxOutputTokens,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    spanCost: null,
  };
  let worst: PriceResult | undefined;
  for (const cacheWriteTokens of [0, e.inputTokens]) {
    for (const reasoningTokens of [0, e.maxOutputTokens]) {
      const p = pricer.price({ ...base, cacheWriteTokens, reasoningTokens });
      if (p.costSource === 'unpriced') {
        return { ok: false, reason: `cannot price model ${JSON.stringify(e.model)}${e.provider ? ` of provider ${JSON.stringify(e.provider)}` : ''}: it is not in the bundled prices; set pricing.overrides or pricing.fallback` };
      }
      if (!worst || p.costUsd > worst.costUsd) worst = p;
    }
  }
  return { ok: true, costUsd: worst!.costUsd, costSource: worst!.costSource, priceVersion: worst!.priceVersion };
}
