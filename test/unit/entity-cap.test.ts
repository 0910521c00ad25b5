import { describe, expect, it } from 'vitest';
import { addFresh, capFresh, createFreshCounters } from '../../core/anomaly/fresh-counters.ts';
import { admitted, overCap, type Ranked } from '../../detector/entity-cap.ts';

const key = (id: string) => `api_key\u0000${id}`;
const ranked = (id: string, spend: number, calls = 1, last = 0): Ranked => ({ key: key(id), kind: 'api_key', spend, calls, last });

describe('the per-kind entity cap', () => {
  it('drops the coldest beyond the cap (least spend, then fewest calls, then seen longest ago), never a kept one', () => {
    const held = [ranked('spender', 5), ranked('a', 0.001, 1, 10), ranked('b', 0.001, 1, 20), ranked('c', 0.001, 3, 0), ranked('incident', 0), ranked('d', 0.002)];
    const { drop, bar } = overCap(held, 3, new Set([key('incident')]));
    expect(drop).toEqual([key('a'), key('b'), key('c')]);
    expect(bar.get('api_key')?.key).toBe(key('d'));
  });

  it('counts each kind on its own and leaves a kind under the cap alone', () => {
    const held = [ranked('k1', 1), ranked('k2', 2), { ...ranked('t1', 0), kind: 'tenant' as const, key: 'tenant\u0000t1' }];
    const { drop, bar } = overCap(held, 2, new Set());
    expect(drop).toEqual([]);
    expect([...bar.keys()]).toEqual(['api_key']); // full: a newcomer must beat k1
  });

  it('reads in newcomers while there is room, hottest first; once full, only those hotter than the bar', () => {
    const flood = Array.from({ length: 10 }, (_, i) => ({ item: `f${i}`, rank: ranked(`f${i}`, 0.001, 1, i) }));
    const spender = { item: 'spender', rank: ranked('spender', 3) };
    expect(admitted([...flood, spender], new Map([['api_key', 8]]), 10, new Map(), new Set())).toEqual(['spender', 'f9']);
    const bar = new Map([['api_key' as const, ranked('coldest held', 0.01)]]);
    expect(admitted([...flood, spender], new Map([['api_key', 10]]), 10, bar, new Set([key('f0')]))).toEqual(['spender', 'f0']);
    // Newer alone is not hotter: a steady flood of equal one-call ids does not replace the held ones every tick.
    const sameBar = new Map([['api_key' as const, ranked('oldest held', 0.001, 1, -5)]]);
    expect(admitted(flood, new Map([['api_key', 10]]), 10, sameBar, new Set())).toEqual([]);
  });
});

describe('capFresh', () => {
  it('keeps the entities of each kind that spent most over the window', () => {
    const c = createFreshCounters(10_000, 60_000);
    const at = 1_000_000;
    for (let i = 0; i < 50; i++) addFresh(c, { time: at, entities: [{ kind: 'api_key', id: `flood-${i}` }], tenant: '', requests: 1, toolCalls: 0, tokens: 10, costUsd: 0.0001 }, at);
    addFresh(c, { time: at, entities: [{ kind: 'api_key', id: 'spender' }, { kind: 'tenant', id: 'acme' }], tenant: 'acme', requests: 1, toolCalls: 0, tokens: 10, costUsd: 2 }, at);
    capFresh(c, 5);
    const kept = [...c.series.values()];
    expect(kept.filter((s) => s.kind === 'api_key')).toHaveLength(5);
    expect(kept.map((s) => s.id)).toContain('spender');
    expect(kept.map((s) => s.id)).toContain('acme');
  });
});
