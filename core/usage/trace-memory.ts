import { hasUsage } from './call-groups.ts';
import type { Unpriced } from './map-span.ts';

/** What a row adds to the rollups, in a fixed order: requests, tool calls, the five counts, compute seconds. */
export function vecOf(e: Unpriced): number[] {
  return [e.requests, e.toolCalls, e.inputTokens, e.outputTokens, e.cacheReadTokens, e.cacheWriteTokens, e.reasoningTokens, e.computeSeconds];
}
export const ZERO: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 0];
const NONE: readonly Unpriced[] = [];

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
 * a total number of events; the least recently touched traces are forgotten first. A trace seen with one event
 * (most traffic) is kept as that event alone: its row is the event itself, so it needs no state of its own.
 */
export class TraceMemory {
  private readonly traces = new Map<string, TraceState>();
  private readonly singles: SingleEventTraces;
  private events = 0;
  private seq = 0;
  private readonly capacity: number;
  /** `capacity` / 2 events of traces with several, and about `capacity` / 4 single-event traces (a power of two). */
  constructor(capacity: number) {
    this.singles = new SingleEventTraces(Math.max(1, capacity >> 2));
    this.capacity = Math.max(1, capacity >> 1);
  }

  get(traceId: string): TraceState | undefined {
    return this.traces.get(traceId);
  }

  /** The one event of a trace seen with one event so far (ask `get` first: a trace that grew is there). */
  single(traceId: string): Unpriced | undefined {
    return this.singles.get(traceId);
  }

  /** Remembers the first and only event of a new trace (stored as it is when it has usage). */
  addSingle(e: Unpriced): void {
    this.singles.set(e);
  }

  /** The trace's state (made from its single event when it had one), moved to the most recently used end. */
  touch(traceId: string): TraceState {
    let t = this.traces.get(traceId);
    if (t) this.traces.delete(traceId);
    else {
      t = { nodes: new Map(), rows: new Map() };
      const one = this.singles.get(traceId);
      if (one) {
        t.nodes.set(one.spanId, one);
        this.events++;
        if (hasUsage(one)) t.rows.set(one.spanId, { vec: vecOf(one), value: one, before: NONE, event: one, seq: 0, late: false });
      }
    }
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

  /** Forgets the least recently touched traces with several events until their events fit (singles age out by themselves). */
  trim(): void {
    for (const [id, t] of this.traces) {
      if (this.events <= this.capacity) return;
      this.traces.delete(id);
      this.events -= t.nodes.size;
    }
  }
}

/**
 * Single-event traces in a direct-mapped table (slot = hash of the trace id): one hash and one array read per span,
 * where a Map of this size costs microseconds per operation and keeps the collector's hot path busy. A newer trace
 * hashing to the same slot replaces the older one, so the memory holds roughly the most recent traces.
 */
class SingleEventTraces {
  private readonly slots: (Unpriced | undefined)[];
  private readonly mask: number;
  constructor(size: number) {
    let n = 1;
    while (n < size) n <<= 1;
    this.slots = new Array<Unpriced | undefined>(n).fill(undefined);
    this.mask = n - 1;
  }
  private slot(traceId: string): number {
    // FNV-1a over the id's characters (trace ids are random hex: every character spreads).
    let h = 0x811c9dc5;
    for (let i = 0; i < traceId.length; i++) h = Math.imul(h ^ traceId.charCodeAt(i), 0x01000193);
    return (h >>> 0) & this.mask;
  }
  get(traceId: string): Unpriced | undefined {
    const e = this.slots[this.slot(traceId)];
    return e !== undefined && e.traceId === traceId ? e : undefined;
  }
  set(e: Unpriced): void {
    this.slots[this.slot(e.traceId)] = e;
  }
}
