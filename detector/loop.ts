import type { Logger } from 'pino';
import type { TickStatsRecorder } from './tick-stats.ts';

export interface Job {
  name: string;
  run(now: number): Promise<unknown>;
}

export interface TickStats {
  ticks: number;
  lastTickAt: number;
  lastTickMs: number;
  maxTickMs: number;
  failures: number;
  /** Start of the last tick in which every job succeeded (0 before one has): how current the detector's view is. */
  lastOkAt: number;
}

/**
 * Runs the jobs every `intervalMs`, one tick at a time (a slow tick delays the next, never overlaps it).
 * A failing job is logged and retried next tick; it never stops the loop.
 */
export function createTickLoop(o: { jobs: Job[]; intervalMs: number; logger: Logger; now: () => number; nudgeGapMs?: number; recorder?: TickStatsRecorder }) {
  const nudgeGap = Math.min(o.nudgeGapMs ?? 500, o.intervalMs);
  let nextAt = 0;
  let lastEndReal = 0;
  const stats: TickStats = { ticks: 0, lastTickAt: 0, lastTickMs: 0, maxTickMs: 0, failures: 0, lastOkAt: 0 };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;

  async function tick(): Promise<void> {
    const started = o.now();
    const results: unknown[] = [];
    let failures = 0;
    for (const job of o.jobs) {
      try {
        results.push(await job.run(started));
      } catch (err) {
        failures++;
        o.logger.error({ err, job: job.name }, 'detector job failed');
      }
    }
    const took = o.now() - started;
    stats.ticks++;
    stats.failures += failures;
    stats.lastTickAt = started;
    stats.lastTickMs = took;
    stats.maxTickMs = Math.max(stats.maxTickMs, took);
    if (failures === 0) stats.lastOkAt = started;
    o.recorder?.record({ at: started + took, tookMs: took, failures, results });
  }

  function schedule(delay: number): void {
    if (stopped) return;
    nextAt = Date.now() + delay;
    timer = setTimeout(() => {
      timer = undefined;
      running = tick().finally(() => {
        running = undefined;
        lastEndReal = Date.now();
        schedule(Math.max(0, o.intervalMs - stats.lastTickMs));
      });
    }, delay);
  }

  return {
    stats,
    start(): void {
      stopped = false;
      schedule(0);
    },
    /**
     * New usage arrived: tick soon rather than at the next interval (at most every `nudgeGapMs`), so a hard limit
     * crossed mid-interval is acted on within a fraction of a tick.
     */
    nudge(): void {
      if (stopped || running || !timer) return;
      const soonest = Math.max(Date.now(), lastEndReal + nudgeGap);
      if (soonest >= nextAt) return;
      clearTimeout(timer);
      schedule(soonest - Date.now());
    },
    /** Runs one tick now (tests, replay); waits for a tick already running first. */
    async tickNow(): Promise<void> {
      if (running) await running;
      await tick();
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (running) await running;
      await o.recorder?.flush(o.now());
    },
  };
}
