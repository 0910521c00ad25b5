import type { Amounts } from '../core/quota/admission.ts';
import type { Dimension } from '../core/quota/policy.ts';

/** The amount one reservation holds against one policy for one entity. */
export interface Hold {
  policy: string;
  kind: string;
  id: string;
  amounts: Amounts;
}

export interface Reservation {
  id: string;
  holds: Hold[];
  createdAt: number;
  expiresAt: number;
}

export const holdKey = (policy: string, kind: string, id: string): string => `${policy}\u0000${kind}\u0000${id}`;

function addInto(target: Amounts, amounts: Amounts, sign: 1 | -1): void {
  for (const [d, v] of Object.entries(amounts) as [Dimension, number][]) {
    const next = (target[d] ?? 0) + sign * v;
    // Float sums drift: a total that is back to (about) nothing is nothing.
    if (Math.abs(next) < 1e-9) delete target[d];
    else target[d] = next;
  }
}

/**
 * The reservations ledger: every open reservation, and per (policy, entity) the total they hold, so a check costs
 * one map lookup per limit. In memory and synchronous: one admission's check and its reservation happen in one
 * turn of the event loop, so concurrent admissions cannot both take the last of a budget.
 * Expiry order is a binary heap; reservations taken out early are skipped when they surface.
 */
export function createReservationLedger() {
  const open = new Map<string, Reservation>();
  const totals = new Map<string, Amounts>();
  const heap: Reservation[] = [];

  function push(r: Reservation): void {
    heap.push(r);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.expiresAt <= heap[i]!.expiresAt) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  function pop(): Reservation | undefined {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && heap[l]!.expiresAt < heap[m]!.expiresAt) m = l;
        if (r < heap.length && heap[r]!.expiresAt < heap[m]!.expiresAt) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i]!, heap[m]!];
        i = m;
      }
    }
    return top;
  }

  function take(id: string): Reservation | undefined {
    const r = open.get(id);
    if (!r) return undefined;
    open.delete(id);
    for (const h of r.holds) {
      const key = holdKey(h.policy, h.kind, h.id);
      const t = totals.get(key);
      if (!t) continue;
      addInto(t, h.amounts, -1);
      if (Object.keys(t).length === 0) totals.delete(key);
    }
    return r;
  }

  return {
    /** Records a reservation (its id must be new). */
    add(r: Reservation): void {
      if (open.has(r.id)) throw new Error(`reservation ${r.id} is already open`);
      open.set(r.id, r);
      for (const h of r.holds) {
        const key = holdKey(h.policy, h.kind, h.id);
        let t = totals.get(key);
        if (!t) totals.set(key, (t = {}));
        addInto(t, h.amounts, 1);
      }
      push(r);
    },
    /** What open reservations hold against a policy for an entity. */
    heldFor(policy: string, kind: string, id: string): Amounts | undefined {
      return totals.get(holdKey(policy, kind, id));
    },
    get(id: string): Reservation | undefined {
      return open.get(id);
    },
    /** Takes a reservation out (committed or released); undefined when it is not open. */
    take,
    /** Takes out every reservation whose time is up at `now`, and returns them. */
    expire(now: number): Reservation[] {
      const out: Reservation[] = [];
      while (heap.length > 0 && heap[0]!.expiresAt <= now) {
        const r = pop()!;
        // Taken out earlier, or a reservation with the same id added later: not this entry's to expire.
        if (open.get(r.id) === r && take(r.id)) out.push(r);
      }
      // Entries of reservations taken out early would otherwise stay until their time: compact when they dominate.
      if (heap.length > 1024 && heap.length > 4 * open.size) {
        heap.length = 0;
        for (const r of open.values()) push(r);
      }
      return out;
    },
    open(): IterableIterator<Reservation> {
      return open.values();
    },
    get size(): number {
      return open.size;
    },
  };
}
export type ReservationLedger = ReturnType<typeof createReservationLedger>;
