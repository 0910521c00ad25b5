import type { PriceInput } from './types.ts';

/** Token counts made consistent: cacheRead + cacheWrite ≤ input, reasoning ≤ output, all finite ≥ 0. */
export interface TokenCounts {
  input: number;
  cacheRead: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
}

const count = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0);

/**
 * Clamp a usage event's counts so that pricing never goes negative or NaN.
 * Non-finite or negative counts become 0. When the parts exceed their total (cache read + write
 * above input, reasoning above output) the total is raised to the sum of the parts: the parts
 * are concrete token kinds the provider reported, so we trust them and price no uncached
 * input (or no plain output) rather than invent or drop tokens.
 */
export function normalizeTokens(p: PriceInput): TokenCounts {
  const cacheRead = count(p.cacheReadTokens);
  const cacheWrite = count(p.cacheWriteTokens);
  const reasoning = count(p.reasoningTokens);
  return {
    input: Math.max(count(p.inputTokens), cacheRead + cacheWrite),
    cacheRead,
    cacheWrite,
    output: Math.max(count(p.outputTokens), reasoning),
    reasoning,
  };
}
