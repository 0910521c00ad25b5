// The detector's in-memory per-minute series (detector/observation-window.ts) against a full read of the store at
// the same instant: equal on every tick for rows that arrive on time or within the tail, and within the refresh
// period for rows that arrive later, whatever the steps between ticks (seconds, minutes, hours, backwards).
import { describe, expect, it } from 'vitest';
import type { EntityObservation } from '../../core/anomaly/index.ts';
import type { EntityKind } from '../../core/usage/types.ts';
import { createObservationWindow } from '../../detector/observation-window.ts';
import { createAnomalyRepo } from '../../store/anomaly-repo.ts';
import { usageEvent } from '../helpers/events.ts';
import { useTestStore } from '../helpers/test-store.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 3, 9, 20, 30);
const KINDS: EntityKind[] = ['api_key', 'tenant'];
const MINUTES = 360;
const ACTIVE = 30;

const view = (obs: readonly EntityObservation[]) =>
  [...obs]
    .map((o) => ({ kind: o.kind, id: o.id, tenant: o.tenant, minuteStart: o.minuteStart, series: JSON.parse(JSON.stringify(o.series)) as unknown }))
    .sort((a, b) => `${a.kind}/${a.id}`.localeCompare(`${b.kind}/${b.id}`));

describe('the observation window', () => {
  const ctx = useTestStore();

  it('reads the same series as a full read of the store, tick after tick, with only the recent minutes read', async () => {
    const repo = createAnomalyRepo(ctx.ts.store);
    let reads = { full: 0, of: 0, since: 0 };
    const counted = {
      observations: (...a: Parameters<typeof repo.observations>) => (reads.full++, repo.observations(...a)),
      observationsOf: (...a: Parameters<typeof repo.observationsOf>) => (reads.of++, repo.observationsOf(...a)),
      minutesSince: (...a: Parameters<typeof repo.minutesSince>) => (reads.since++, repo.minutesSince(...a)),
    };
    const refreshMs = 5 * MIN;
    const w = createObservationWindow({ repo: counted, kinds: KINDS, minutes: MINUTES, activeMinutes: ACTIVE, refreshMs });
    const use = (apiKey: string, time: number, costUsd: number, tenant = 'acme') => usageEvent({ apiKey, tenant, time, costUsd, requests: 1, inputTokens: 100, outputTokens: 10 });
    const expectSame = async (now: number, what: string) => {
      expect(view(await w.read(now)), what).toEqual(view(await repo.observations(KINDS, now, MINUTES, ACTIVE)));
    };

    // History over the last two hours for two keys, one of them also active now.
    await ctx.ts.repo.insert([...Array.from({ length: 24 }, (_, i) => use('k-1', T0 - i * 5 * MIN, 0.1)), ...Array.from({ length: 10 }, (_, i) => use('k-2', T0 - 50 * MIN - i * 7 * MIN, 0.2))]);
    await expectSame(T0, 'first read');
    expect(reads).toEqual({ full: 1, of: 0, since: 0 });

    let now = T0;
    const tick = async (ms: number, rows: ReturnType<typeof use>[], what: string) => {
      now += ms;
      if (rows.length > 0) await ctx.ts.repo.insert(rows);
      await expectSame(now, what);
    };
    await tick(2000, [use('k-1', T0 + 1000, 0.3)], 'more in the current minute');
    await tick(40_000, [use('k-1', T0 + 40_000, 0.3)], 'the next minute: the window slides');
    await tick(2000, [use('k-new', T0 + 41_000, 1.5, 'globex')], 'a key never seen before');
    await tick(2000, [use('k-2', T0 - 3 * MIN, 0.4)], 'a late row inside the tail (k-2 turns active)');
    await tick(5 * MIN, [use('k-1', T0 + 5 * MIN, 0.1), use('k-new', T0 + 5 * MIN, 1, 'initech')], 'five minutes on; a key changes tenant');
    expect(reads.full).toBe(1);

    // Later than the tail: equal again once the refresh period has passed (the whole active span is read again,
    // and the held windows in slices).
    now += 2000;
    await ctx.ts.repo.insert([use('k-1', now - 100 * MIN, 5), use('k-late', now - 12 * MIN, 2)]);
    for (let i = 0; i < 2 + refreshMs / 30_000; i++) {
      now += 30_000;
      await w.read(now);
    }
    await expectSame(now, 'rows later than the tail, after the refresh period');

    // A backfill notice (every entity of the late rows) brings those entities' whole windows back at once.
    await ctx.ts.repo.insert([use('k-2', now - 200 * MIN, 7)]);
    w.invalidate([{ kind: 'api_key', id: 'k-2' }, { kind: 'tenant', id: 'acme' }]);
    await tick(2000, [], 'after invalidate');

    // Long steps (replay at hourly steps), a gap longer than the window, and time going backwards.
    reads = { full: 0, of: 0, since: 0 };
    await tick(60 * MIN, [use('k-1', now + 30 * MIN, 0.5)], 'an hour later');
    await tick(20 * MIN, [], 'everyone idle for a while');
    expect(reads.full).toBe(0);
    await tick(7 * 60 * MIN, [use('k-1', now + 7 * 60 * MIN, 0.5)], 'more than the window later');
    expect(reads.full).toBe(1);
    await tick(-3 * 60 * MIN, [], 'back in time');
    expect(reads.full).toBe(2);
  });

  it('holds at most maxPerKind entities a kind: the top spenders of a full read, a newcomer only when it outspends the coldest, always one kept (an open incident)', async () => {
    const repo = createAnomalyRepo(ctx.ts.store);
    const w = createObservationWindow({ repo, kinds: ['api_key'], minutes: MINUTES, activeMinutes: ACTIVE, maxPerKind: 3 });
    const spend = (apiKey: string, costUsd: number, time: number) => usageEvent({ apiKey, tenant: 'cap', time, costUsd, requests: 1, inputTokens: 100 });
    const ids = (obs: readonly EntityObservation[]) => obs.map((o) => o.id).sort();
    const t = T0 + 2 * 60 * MIN;
    await ctx.ts.repo.insert(['a', 'b', 'c', 'd', 'e'].map((k, i) => spend(`cap-${k}`, i + 1, t - 2 * MIN)));
    expect(ids(await w.read(t))).toEqual(['cap-c', 'cap-d', 'cap-e']);
    // Newcomers as cheap as the coldest held stay out; one that spends more gets in and the coldest goes.
    await ctx.ts.repo.insert([spend('cap-f', 3, t + 10_000), spend('cap-g', 9, t + 10_000)]);
    expect(ids(await w.read(t + 20_000))).toEqual(['cap-d', 'cap-e', 'cap-g']);
    // An entity kept (an open incident) is held whatever it spent; it counts toward the cap, so the coldest other goes.
    expect(ids(await w.read(t + 30_000, [{ kind: 'api_key', id: 'cap-a' }]))).toEqual(['cap-a', 'cap-e', 'cap-g']);
    expect(w.size).toBe(3);
  });
});
