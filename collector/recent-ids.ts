const HEX_ID = /^(?:[0-9a-f]{2})+$/;

/**
 * Bounded set of recently written event ids (insertion order eviction): the fast path of dedup.
 * Ids are kept as compact copies: an event id is trace id + span id, a concatenation that would keep both
 * parts alive (~150 bytes an id); its bytes in base64 take ~70, so the default 500k ids stay near 35 MB.
 *
 * Eviction walks a ring of the keys in insertion order. (Taking the oldest entry of the Map instead, with
 * `map.keys().next()`, skips every entry deleted before it: once full, each add cost time proportional to
 * the evictions so far, and ingest slowed to a crawl after the first half million events.)
 */
export class RecentIds {
  private readonly ids = new Map<string, number>();
  private readonly ring: (string | undefined)[];
  private readonly times: Float64Array;
  private next = 0;
  /** Latest event time among evicted ids: an event ending later than this was never forgotten here. */
  private evictedUpTo = -Infinity;

  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.floor(capacity));
    this.ring = new Array<string | undefined>(this.capacity);
    this.times = new Float64Array(this.capacity);
  }

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
    if (this.capacity <= 0 || this.ids.has(k)) return;
    const oldest = this.ring[this.next];
    if (oldest !== undefined) {
      this.ids.delete(oldest);
      this.evictedUpTo = Math.max(this.evictedUpTo, this.times[this.next]!);
    }
    this.ring[this.next] = k;
    this.times[this.next] = time;
    this.ids.set(k, time);
    this.next = (this.next + 1) % this.capacity;
  }

  get size(): number {
    return this.ids.size;
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
