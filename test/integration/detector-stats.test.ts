import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createTickLoop, type Job } from '../../detector/loop.ts';
import { createTickStats } from '../../detector/tick-stats.ts';
import { createDetectorStatsRepo, type StatRow } from '../../store/health-stats-repo.ts';
import { useTestStore } from '../helpers/test-store.ts';

const ctx = useTestStore();
const logger = pino({ level: 'silent' });

interface Stat {
  name: string;
  label: string;
  value: number;
}

async function stats(instance: string): Promise<Stat[]> {
  return ctx.ts.store.query<Stat>(
    `SELECT name, label, if(name = 'tick_duration_ms', max(value), sum(value)) AS value FROM ${ctx.ts.store.table('detector_stats')}
     WHERE instance = {i:String} GROUP BY name, label ORDER BY name, label`,
    { i: instance },
  );
}

/** A clock the test moves: each tick takes `tickMs` of it. */
function clock(start: number, tickMs: number) {
  let t = start;
  let calls = 0;
  // The loop reads the clock at the start and at the end of a tick: every second read is the end.
  return () => (calls++ % 2 === 1 ? (t += tickMs) : t);
}

describe('detector stats', () => {
  it('the tick loop writes ticks, failures, the slowest tick, findings by pattern/severity and entities scored', async () => {
    const repo = createDetectorStatsRepo(ctx.ts.store);
    const recorder = createTickStats({ instance: 'det-a', write: (rows) => repo.insert(rows), logger, flushMs: 10_000 });
    const anomaly: Job = { name: 'anomaly', run: async () => ({ findingLabels: ['spike/critical', 'spike/warning', 'spike/critical'], entitiesScored: 40 }) };
    let calls = 0;
    const flaky: Job = {
      name: 'flaky',
      run: async () => {
        if (++calls % 2 === 0) throw new Error('store hiccup');
      },
    };
    const loop = createTickLoop({ jobs: [anomaly, flaky], intervalMs: 1000, logger, now: clock(Date.UTC(2026, 11, 3, 8), 3000), recorder });
    for (let i = 0; i < 6; i++) await loop.tickNow();
    await loop.stop();

    const got = await stats('det-a');
    expect(got).toEqual([
      { name: 'entities_scored', label: '', value: 240 },
      { name: 'findings', label: 'spike/critical', value: 12 },
      { name: 'findings', label: 'spike/warning', value: 6 },
      { name: 'tick_duration_ms', label: '', value: 3000 },
      { name: 'tick_failures', label: '', value: 3 },
      { name: 'ticks', label: '', value: 6 },
    ]);
    // Flushed about every 10 s of the loop's clock (3 s ticks → every 4th tick), not once per tick.
    const flushes = await ctx.ts.store.query<{ n: number }>(`SELECT uniqExact(ts) AS n FROM ${ctx.ts.store.table('detector_stats')} WHERE instance = 'det-a'`);
    expect(Number(flushes[0]?.n)).toBe(2);
  });

  it('a failing write neither delays nor fails a tick; the rows are kept and written at the next flush', async () => {
    const repo = createDetectorStatsRepo(ctx.ts.store);
    let down = true;
    let refused = 0;
    const write = async (rows: readonly StatRow[]) => {
      if (down) {
        refused++;
        throw new Error('ClickHouse unreachable');
      }
      await repo.insert(rows);
    };
    const recorder = createTickStats({ instance: 'det-b', write, logger, flushMs: 0 });
    let ran = 0;
    const loop = createTickLoop({ jobs: [{ name: 'count', run: async () => void ran++ }], intervalMs: 1000, logger, now: clock(Date.UTC(2026, 11, 3, 9), 1000), recorder });
    for (let i = 0; i < 3; i++) await loop.tickNow();
    expect(ran).toBe(3);
    expect(loop.stats.failures).toBe(0);
    expect(refused).toBeGreaterThan(0);
    down = false;
    await loop.stop();
    const ticks = (await stats('det-b')).find((s) => s.name === 'ticks');
    expect(ticks?.value).toBe(3);
  });
});
