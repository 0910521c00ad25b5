/**
 * A token bucket: `rate` tokens per second, at most `burst` banked. Time is a parameter (ms), so the same
 * bucket runs in the server, in the gateway client and in tests.
 */
export class TokenBucket {
  protected tokens: number;
  private at: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  protected refill(now: number): void {
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
      this.at = now;
    }
  }

  /** Milliseconds until one token is available (0 when one is available now). */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  /** Takes one token when available; otherwise says how long to wait. */
  take(now: number): { ok: true; remaining: number } | { ok: false; retryAfterMs: number } {
    const wait = this.waitMs(now);
    if (wait > 0) return { ok: false, retryAfterMs: wait };
    this.tokens -= 1;
    return { ok: true, remaining: Math.floor(this.tokens) };
  }
}

/** Rate and burst for a throttle limit: requests per minute spread evenly, one second's worth banked (at least 1). */
export function bucketShape(limit: { requests_per_minute?: number; tokens_per_minute?: number } | undefined): { rate: number; burst: number } | undefined {
  const rpm = limit?.requests_per_minute;
  if (rpm === undefined || !(rpm > 0)) return undefined;
  const rate = rpm / 60;
  return { rate, burst: Math.max(1, Math.floor(rate)) };
}
