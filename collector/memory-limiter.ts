import type { Logger } from 'pino';
import type { Refusal } from './write-outcome.ts';

export interface MemoryLimiterOptions {
  /** Hard limit of the process's resident memory, in bytes; past it a garbage collection is also asked for. */
  limitBytes: number;
  /** Head room below the hard limit: from `limitBytes - spikeBytes` (the soft limit) on, new requests are refused. */
  spikeBytes: number;
  /** How often the resident memory is read (default 100 ms: bodies of a few MB arrive faster than once a second). */
  intervalMs?: number;
  /** The process's resident memory in bytes (process.memoryUsage.rss, which reads one /proc file). */
  rss?: () => number;
  /** Asks for a full collection (globalThis.gc when node runs with --expose-gc); absent, none is asked for. */
  gc?: (() => void) | undefined;
  /**
   * Whether no admitted request still holds memory (no body being read or waiting for the store). While memory is
   * between the soft and the hard limit, one request is let in per check when idle: the JS heap and the engine's
   * allocator keep some of what a burst made them take, so resident memory may settle above the soft limit with
   * nothing in flight, and without this ingest would then stop for good.
   */
  idle?: () => boolean;
  logger: Logger;
  /** Told once per episode, as it starts and as it ends (tests, metrics). */
  onEpisode?: (over: boolean, rssBytes: number) => void;
}

export interface MemoryLimiter {
  /** The answer for a new request while memory is over the soft limit, else null. Costs one comparison. */
  refusal(): Refusal | null;
  /** Reads the resident memory now (the timer calls it; tests call it to skip the wait). */
  check(): void;
  /** Requests refused for memory since start. */
  readonly refused: number;
  /** Whether new requests are refused right now. */
  readonly over: boolean;
  /** Most resident memory seen by a check since start, in bytes. */
  readonly peakRss: number;
  close(): void;
}

/** A full collection under pressure at most this often: one takes tens of ms on a heap of a few hundred MiB. */
const GC_EVERY_MS = 2_000;
const MIB = 1024 * 1024;

/**
 * Refuses new ingest requests, before their body is read, while the process's resident memory is above a soft limit
 * (the OpenTelemetry Collector's memory_limiter idiom). What is already admitted completes: refusing only what has
 * not been read yet means nothing acknowledged is lost, and the exporters retry the refused requests after
 * Retry-After. RSS is what the kernel and container limits count, JS heap and native engine alike.
 */
export function createMemoryLimiter(o: MemoryLimiterOptions): MemoryLimiter {
  const rss = o.rss ?? (() => process.memoryUsage.rss());
  const soft = o.limitBytes - o.spikeBytes;
  let over = false;
  let refused = 0;
  let peak = 0;
  let lastGc = -Infinity;
  let probed = false;
  let episodeStart = 0;
  let refusedAtStart = 0;
  const answer = (now: number): Refusal => ({
    ok: false,
    status: 429,
    retryAfterSeconds: 1,
    reason: `collector over its memory limit (${Math.round(now / MIB)} MiB resident, refusing above ${Math.round(soft / MIB)} MiB); retry later`,
  });
  let current: Refusal = answer(0);
  let hard = false;

  function check(): void {
    const now = rss();
    peak = Math.max(peak, now);
    probed = false;
    hard = now >= o.limitBytes;
    if (now >= soft && !over) {
      over = true;
      episodeStart = Date.now();
      refusedAtStart = refused;
      o.logger.warn({ rssMiB: Math.round(now / MIB), softLimitMiB: Math.round(soft / MIB), limitMiB: Math.round(o.limitBytes / MIB) }, 'memory over the soft limit: refusing new ingest requests with 429 until it falls');
      o.onEpisode?.(true, now);
    } else if (now < soft && over) {
      over = false;
      o.logger.info({ rssMiB: Math.round(now / MIB), refused: refused - refusedAtStart, seconds: (Date.now() - episodeStart) / 1000 }, 'memory back under the soft limit: accepting ingest again');
      o.onEpisode?.(false, now);
    }
    if (over) current = answer(now);
    // Past the hard limit the garbage the young generation and old space hold is given back at once rather than at
    // V8's next convenience; rate-limited because each full collection stops the event loop.
    // Over the soft limit with nothing in flight, a collection is what can bring memory back under it.
    if ((hard || (over && o.idle?.())) && o.gc && Date.now() - lastGc >= GC_EVERY_MS) {
      lastGc = Date.now();
      o.gc();
    }
  }

  const timer = setInterval(check, o.intervalMs ?? 100);
  timer.unref();
  check();

  return {
    refusal() {
      if (!over) return null;
      if (!hard && !probed && o.idle?.()) {
        probed = true;
        return null;
      }
      refused++;
      return current;
    },
    check,
    get refused() {
      return refused;
    },
    get over() {
      return over;
    },
    get peakRss() {
      return peak;
    },
    close() {
      clearInterval(timer);
    },
  };
}

/** globalThis.gc when node was started with --expose-gc, else undefined. */
export function exposedGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? () => (gc as () => void)() : undefined;
}
