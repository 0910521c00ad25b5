// The memory limiter refuses new requests while resident memory is over the soft limit (limit less the spike
// margin), resumes below it, logs once per episode, asks for a collection past the hard limit or when idle over the
// soft one, and lets one request in per check when idle between the two limits so ingest never stops for good.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryLimiter, type MemoryLimiter } from '../../collector/memory-limiter.ts';

const MIB = 1024 * 1024;

function capture() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as { level: number; msg: string });
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

let limiter: MemoryLimiter | undefined;
afterEach(() => limiter?.close());

function setup(o: { idle?: boolean } = {}) {
  let rss = 500 * MIB;
  let idle = o.idle ?? false;
  let gcs = 0;
  const episodes: boolean[] = [];
  const log = capture();
  limiter = createMemoryLimiter({
    limitBytes: 900 * MIB,
    spikeBytes: 150 * MIB,
    intervalMs: 60_000,
    rss: () => rss,
    gc: () => gcs++,
    idle: () => idle,
    logger: log.logger,
    onEpisode: (over) => episodes.push(over),
  });
  const l = limiter;
  return {
    l,
    log,
    episodes,
    gcs: () => gcs,
    at(mib: number) {
      rss = mib * MIB;
      l.check();
    },
    setIdle(v: boolean) {
      idle = v;
    },
  };
}

describe('createMemoryLimiter', () => {
  it('refuses with a retryable 429 from the soft limit on, and accepts again once memory is below it', () => {
    const t = setup();
    expect(t.l.refusal()).toBeNull();
    t.at(749);
    expect(t.l.refusal()).toBeNull();
    t.at(750);
    const r = t.l.refusal();
    expect(r).toMatchObject({ ok: false, status: 429, retryAfterSeconds: 1 });
    expect(r?.reason).toContain('750 MiB resident, refusing above 750 MiB');
    expect(t.l.refusal()).not.toBeNull();
    expect(t.l.over).toBe(true);
    expect(t.l.refused).toBe(2);
    t.at(760);
    t.at(700);
    expect(t.l.over).toBe(false);
    expect(t.l.refusal()).toBeNull();
    expect(t.l.refused).toBe(2);
    expect(t.l.peakRss).toBe(760 * MIB);
    // One warning as the episode starts, one line as it ends, whatever happened in between.
    expect(t.episodes).toEqual([true, false]);
    expect(t.log.lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual(['memory over the soft limit: refusing new ingest requests with 429 until it falls']);
    expect(t.log.lines.filter((l) => l.level === 30).map((l) => l.msg)).toEqual(['memory back under the soft limit: accepting ingest again']);
  });

  it('asks for a collection past the hard limit, at most once every two seconds, and not below it while busy', () => {
    const t = setup();
    t.at(800);
    expect(t.gcs()).toBe(0);
    t.at(950);
    t.at(960);
    expect(t.gcs()).toBe(1);
  });

  it('between the limits, lets one request in per check while nothing is in flight; past the hard limit none', () => {
    const t = setup({ idle: true });
    t.at(800);
    // Idle over the soft limit: a collection is what can give memory back.
    expect(t.gcs()).toBe(1);
    expect(t.l.refusal()).toBeNull();
    expect(t.l.refusal()).not.toBeNull();
    t.at(800);
    expect(t.l.refusal()).toBeNull();
    t.setIdle(false);
    t.at(800);
    expect(t.l.refusal()).not.toBeNull();
    t.setIdle(true);
    t.at(950);
    expect(t.l.refusal()).not.toBeNull();
    expect(t.l.refused).toBe(3);
  });
});
