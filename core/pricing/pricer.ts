import { compileOverrides } from './overrides.ts';
import { createPriceDb, PRICE_DB_VERSION } from './price-db.ts';
import { costOf, flatCard } from './rate-card.ts';
import { normalizeTokens } from './tokens.ts';
import type { PriceInput, PriceResult, Pricer, PricingConfig } from './types.ts';

function fallbackCard(fallback: NonNullable<PricingConfig['fallback']>) {
  for (const key of ['input_per_mtok', 'output_per_mtok'] as const) {
    const v = fallback[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`pricing.fallback.${key}: expected a finite number ≥ 0, got ${String(v)}`);
  }
  // Cache and reasoning tokens stay inside input and output at the same per-token price.
  return flatCard({ input: fallback.input_per_mtok, output: fallback.output_per_mtok });
}

const isCost = (c: number | null): c is number => typeof c === 'number' && Number.isFinite(c) && c >= 0;

/**
 * Build the pricer (docs/concepts/pricing.md). Precedence: operator override in force at the event time > cost on
 * the span > bundled genai-prices price in force at the event time > `pricing.fallback`
 * (`estimated`) > `unpriced` at $0. Pure: the event time is the only clock.
 * Throws RangeError for invalid override or fallback rates/dates (config validation should have caught them).
 */
export function createPricer(config: PricingConfig): Pricer {
  const overrides = compileOverrides(config.overrides);
  const db = createPriceDb();
  const fallback = config.fallback === null ? null : fallbackCard(config.fallback);
  return {
    priceDbVersion: PRICE_DB_VERSION,
    price(input: PriceInput): PriceResult {
      const { provider, model, time, spanCost } = input;
      if (!Number.isFinite(time)) throw new RangeError(`price(): time must be epoch milliseconds, got ${time}`);
      const override = overrides.find(provider, model, time);
      if (override !== undefined) return { costUsd: costOf(override.card, normalizeTokens(input)), costSource: 'override', priceVersion: override.version };
      // `+ 0` turns a reported -0 into 0.
      if (isCost(spanCost)) return { costUsd: spanCost + 0, costSource: 'span', priceVersion: 'span' };
      const listed = db.lookup(provider, model, time);
      if (listed !== undefined) return { costUsd: costOf(listed.card, normalizeTokens(input)), costSource: 'price_db', priceVersion: listed.version };
      if (fallback !== null) return { costUsd: costOf(fallback, normalizeTokens(input)), costSource: 'estimated', priceVersion: 'fallback' };
      return { costUsd: 0, costSource: 'unpriced', priceVersion: '' };
    },
  };
}
