export { createPricer } from './pricer.ts';
export { GENAI_PRICES_VERSION, PRICE_DB_VERSION } from './price-db.ts';
export { PROVIDER_ALIASES, toGenaiProviderId } from './provider-ids.ts';
export type { PriceInput, PriceOverride, PriceResult, PriceSource, Pricer, PricingConfig } from './types.ts';
