/** Bounded FIFO map: the deduper's memory of recent spans across requests (parents, calls below, ids). */
export class Fifo<V> {
  private readonly map = new Map<string, V>();
  /** Insertion order as a ring: eviction without iterators, one map lookup per new key. */
  private readonly ring: (string | undefined)[];
  private next = 0;
  private readonly capacity: number;
  constructor(capacity: number) {
    this.capacity = Math.max(1, Math.floor(capacity));
    this.ring = new Array<string | undefined>(this.capacity);
  }
  get(k: string): V | undefined {
    return this.map.get(k);
  }
  has(k: string): boolean {
    return this.map.has(k);
  }
  set(k: string, v: V): void {
    const size = this.map.size;
    this.map.set(k, v);
    if (this.map.size === size) return;
    const old = this.ring[this.next];
    if (old !== undefined) this.map.delete(old);
    this.ring[this.next] = k;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
  }
}
