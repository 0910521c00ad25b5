import { describe, expect, it } from 'vitest';
import { RevocationList } from '../../core/enforcement/revocation-list.ts';
import type { Cause, Change } from '../../core/enforcement/types.ts';
import { createGatewayFeed } from '../../detector/gateway-feed.ts';
import { createGatewayMirror } from '../../detector/gateway-mirror.ts';

// The feed that keeps the gateway copies (the API port's mirror, the gateway worker's) in step with the detector's
// list: a copy that joins late (a restarted worker) must end up with exactly what the others have.

const revoke: Cause = { action: 'revoke', reason: 'r', source: 'manual', ref: 'op', created_at: '2026-12-03T00:00:00.000Z' };
const tpm: Cause = { action: 'throttle', limit: { tokens_per_minute: 600 }, reason: 't', source: 'manual', ref: 'op', created_at: '2026-12-03T00:00:00.000Z' };

function detectorList() {
  const list = new RevocationList();
  const listeners: ((changes: Change[]) => void)[] = [];
  return {
    list,
    /** A change made in memory; `persisted()` later tells the feed, as the enforcement service does after its write. */
    made: [] as Change[],
    add(kind: string, id: string, cause: Cause) {
      this.made.push(list.addCause(kind, id, cause)!);
    },
    persisted() {
      const changes = this.made.splice(0);
      for (const l of listeners) l(changes);
    },
    port: {
      onChange: (l: (changes: Change[]) => void) => void listeners.push(l),
      get version() {
        return list.version;
      },
      state: () => list.state(),
      changesAfter: (since: number) => list.changesAfter(since),
      get: (kind: string, id: string) => list.get(kind, id),
    },
  };
}

describe('gateway feed', () => {
  it('brings a copy that joins late to the same list, also while a change is not yet persisted', () => {
    const d = detectorList();
    const feed = createGatewayFeed({ list: d.port, currentAt: () => 0, now: () => 0 });
    const first = createGatewayMirror();
    feed.subscribe(first.apply);
    d.add('api_key', 'k1', revoke);
    d.persisted();
    // k2 is in the detector's memory, not yet written: a copy joining now gets it in its whole state…
    d.add('api_key', 'k2', revoke);
    const late = createGatewayMirror();
    const off = feed.subscribe(late.apply);
    // …and the first copy gets it once written; the late one is not given it twice.
    d.persisted();
    d.add('tenant', 't1', revoke);
    d.persisted();
    for (const m of [first, late]) {
      expect(m.version).toBe(3);
      expect(m.snapshot()).toEqual({ version: 3, entries: d.list.list() });
      expect(m.delta(0)).toEqual(d.list.delta(0));
    }
    // A replacement after later changes starts from the list as it is then.
    off();
    d.add('agent', 'a1', revoke);
    d.persisted();
    const replacement = createGatewayMirror();
    feed.subscribe(replacement.apply);
    expect(replacement.snapshot()).toEqual(first.snapshot());
    expect(replacement.delta(1)).toEqual(first.delta(1));
    expect(late.version).toBe(3);
  });

  it('passes on stored tokens only for entities throttled by tokens per minute, summed per entity', () => {
    const d = detectorList();
    const feed = createGatewayFeed({ list: d.port, currentAt: () => 0, now: () => 0 });
    const m = createGatewayMirror();
    const got: unknown[] = [];
    m.onUsage((debits) => got.push(debits));
    feed.subscribe(m.apply);
    expect(feed.wantsUsage()).toBe(false);
    feed.usage([{ entities: [{ kind: 'api_key', id: 'k' }], tokens: 100 }]);
    expect(got).toEqual([]);
    d.add('api_key', 'k', tpm);
    d.add('api_key', 'other', revoke);
    d.persisted();
    expect(feed.wantsUsage()).toBe(true);
    feed.usage([
      { entities: [{ kind: 'api_key', id: 'k' }, { kind: 'tenant', id: 't' }], tokens: 100 },
      { entities: [{ kind: 'api_key', id: 'other' }], tokens: 5 },
      { entities: [{ kind: 'api_key', id: 'k' }], tokens: 50 },
    ]);
    expect(got).toEqual([[['api_key', 'k', 150]]]);
  });
});
