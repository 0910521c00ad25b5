const HEX_ID = /^(?:[0-9a-f]{2})+$/;

/**
 * Bounded set of recently written event ids (insertion order eviction): the fast path of dedup.
 * Ids are kept as compact copies: an event id is trace id + span id, a concatenation that would keep both
 * parts alive (~150 bytes an id); its bytes in base64 take ~70, so the default 500k ids stay near 35 MB.
 */
export class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.ids.has(key(id));
  }

  add(id: string): void {
    const k = key(id);
    if (this.ids.has(k)) return;
    this.ids.add(k);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next();
      if (!oldest.done) this.ids.delete(oldest.value);
    }
  }
}

// Lowercase hex maps one-to-one onto its bytes; anything else is kept as is behind a '~', which base64 never holds.
function key(id: string): string {
  return HEX_ID.test(id) ? Buffer.from(id, 'hex').toString('base64') : `~${id}`;
}
