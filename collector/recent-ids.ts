const HEX_ID = /^(?:[0-9a-f]{2})+$/;

/**
 * Bounded set of recently written event ids (insertion order eviction): the fast path of dedup.
 * Ids are kept as compact copies: an event id is trace id + span id, a concatenation that would keep both
 * parts alive (~150 bytes an id); its bytes in base64 take ~70, so the default 500k ids stay near 35 MB.
 */
export class RecentIds {
  private readonly ids = new Map<string, number>();
  /** Latest event time among evicted ids: an event ending later than this was never forgotten here. */
  private evictedUpTo = -Infinity;
  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.ids.has(recentKey(id));
  }

  add(id: string, time = Infinity): void {
    this.addKey(recentKey(id), time);
  }

  /** The key of `id` in this set: computed once per event on the hot path (`hasKey`, then `addKey`). */
  hasKey(k: string): boolean {
    return this.ids.has(k);
  }

  addKey(k: string, time = Infinity): void {
    if (this.ids.has(k)) return;
    this.ids.set(k, time);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.entries().next();
      if (!oldest.done) {
        this.ids.delete(oldest.value[0]);
        this.evictedUpTo = Math.max(this.evictedUpTo, oldest.value[1]);
      }
    }
  }

  /** Event time up to which ids may have been written and then forgotten (evicted). */
  get forgottenUpTo(): number {
    return this.evictedUpTo;
  }
}

// Lowercase hex maps one-to-one onto its bytes; anything else is kept as is behind a '~', which base64 never holds.
export function recentKey(id: string): string {
  return HEX_ID.test(id) ? Buffer.from(id, 'hex').toString('base64') : `~${id}`;
}
