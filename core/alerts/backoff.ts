export interface RetryRules {
  /** Attempts before a delivery is dead (the first try counts). */
  maxAttempts: number;
  /** Delay after the first failure; doubles with each further one. */
  initialMs: number;
  maxMs: number;
}

/**
 * Delay before the next attempt after `attempts` failures: exponential, capped, with "equal jitter" (half fixed,
 * half random) so a crowd of deliveries that failed together does not retry together. `random` is in [0, 1).
 */
export function retryDelay(attempts: number, rules: RetryRules, random: number): number {
  const exp = Math.min(rules.maxMs, rules.initialMs * 2 ** Math.max(0, Math.min(30, attempts - 1)));
  return Math.round(exp / 2 + (exp / 2) * random);
}

/** A `Retry-After` the receiver asked for wins when it is later than our own schedule (bounded by the cap). */
export function withRetryAfter(delayMs: number, retryAfterMs: number | undefined, rules: RetryRules): number {
  return retryAfterMs === undefined ? delayMs : Math.max(delayMs, Math.min(rules.maxMs, retryAfterMs));
}
