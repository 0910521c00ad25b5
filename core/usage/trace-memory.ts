import type { Unpriced } from './map-span.ts';

/** A row stored for a call: what it added (in `vecOf` order) and the call's value then. */
export interface StoredRow {
  vec: number[];
  value: Unpriced;
  before: readonly Unpriced[];
  event: Unpriced;
  seq: number;
  /** The call was found to hold more than its spans say (counted once in `lateEvidence`). */
  late: boolean;
  /**
   * Set on the row of an aggregate (or container) stored before its calls: what it stored that its calls have not
   * drawn on yet. Calls found below it later store only what exceeds it, so the total is theirs.
   */
  credit?: number[];
  /** Whether the aggregate's stored cost is still to be taken off the next call row below it. */
  creditCost?: boolean;
}

export interface TraceState {
  /** Events of the trace by span id, as they were first seen (after identity inheritance). */
  nodes: Map<string, Unpriced>;
  /** Rows stored so far, by the span id that keys them. */
  rows: Map<string, StoredRow>;
}

/** Events remembered per trace, beyond which the oldest of that trace are forgotten (an endless agent loop). */
const MAX_PER_TRACE = 1024;

/**
 * The call deduper's memory across requests: recently touched traces with their events and stored rows, bounded by
 * a total number of events; the least recently touched traces are forgotten first.
 */
export class TraceMemory {
  private readonly traces = new Map<string, TraceState>();
  private events = 0;
  private seq = 0;
  constructor(private readonly capacity: number) {}

  get(traceId: string): TraceState | undefined {
    return this.traces.get(traceId);
  }

  /** The trace's state, moved to the most recently used end. */
  touch(traceId: string): TraceState {
    let t = this.traces.get(traceId);
    if (t) this.traces.delete(traceId);
    else t = { nodes: new Map(), rows: new Map() };
    this.traces.set(traceId, t);
    return t;
  }

  add(t: TraceState, e: Unpriced): void {
    if (t.nodes.size >= MAX_PER_TRACE) {
      const oldest = t.nodes.keys().next().value;
      if (oldest !== undefined) {
        t.nodes.delete(oldest);
        t.rows.delete(oldest);
        this.events--;
      }
    }
    t.nodes.set(e.spanId, e);
    this.events++;
  }

  nextSeq(): number {
    return ++this.seq;
  }

  /** Forgets the least recently touched traces until the remembered events fit the capacity. */
  trim(): void {
    for (const [id, t] of this.traces) {
      if (this.events <= this.capacity) return;
      this.traces.delete(id);
      this.events -= t.nodes.size;
    }
  }
}
