/** An operator's negotiated price for one provider/model from a date on (config `pricing.overrides`). */
export interface PriceOverride {
  /** Provider as spans name it (`openai`, `azure.ai.openai`, …) or `*` for any provider. */
  provider: string;
  model: string;
  input_per_mtok: number;
  output_per_mtok: number;
  /** Default: `input_per_mtok`. */
  cache_read_per_mtok?: number;
  /** Default: `input_per_mtok`. */
  cache_write_per_mtok?: number;
  /** Default: `output_per_mtok`. */
  reasoning_per_mtok?: number;
  /** `YYYY-MM-DD` (UTC midnight) or an ISO date-time (UTC when it has no offset). */
  effective_from: string;
}

/** The `pricing` block of the configuration (docs/configuration.md). */
export interface PricingConfig {
  overrides: PriceOverride[];
  /** Per-token price for events nothing else can price; results are marked `estimated`. */
  fallback: { input_per_mtok: number; output_per_mtok: number } | null;
}

/** What the pricer needs from one usage event (token counts in semconv meaning: docs/concepts/one-call.md). */
export interface PriceInput {
  provider: string;
  model: string;
  /** Event time, epoch milliseconds: selects the override and the dated DB price in force. */
  time: number;
  /** Includes cache read and cache write tokens. */
  inputTokens: number;
  /** Includes reasoning tokens. */
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  /** USD cost reported on the span, already converted; null when absent. */
  spanCost: number | null;
}

export type PriceSource = 'span' | 'override' | 'price_db' | 'estimated' | 'unpriced';

export interface PriceResult {
  costUsd: number;
  costSource: PriceSource;
  /** Which price was used, e.g. `override:openai/gpt-4o@2026-01-01`, `genai-prices@0.1.8:openai/o3@2025-06-10`. */
  priceVersion: string;
}

export interface Pricer {
  price(input: PriceInput): PriceResult;
  /** `genai-prices@<version>` of the bundled price database. */
  priceDbVersion: string;
}
