import type { Unpriced } from './map-span.ts';

interface SpanRef {
  traceId: string;
  spanId: string;
  parentSpanId: string;
}

const MAX_DEPTH = 64;

/** Bounded FIFO map: the memory of recent spans' parents that lets a late aggregate span find its children. */
class Fifo<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}
  get(k: string): V | undefined {
    return this.map.get(k);
  }
  has(k: string): boolean {
    return this.map.has(k);
  }
  set(k: string, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.capacity) {
      const first = this.map.keys().next();
      if (!first.done) this.map.delete(first.value);
    }
  }
}

/**
 * Makes one LLM call count once (SPEC §1, §11): a span with usage above another inference span (a framework's
 * aggregate, or an outer instrumentation wrapping the provider SDK's span) is dropped in favour of the innermost;
 * sibling spans reporting the same response are counted once. State spans requests, so aggregate spans that
 * arrive after their children (the usual export order) are still recognised.
 */
export function createCallDeduper(capacity = 200_000) {
  const parents = new Fifo<string>(capacity);
  const hasCallBelow = new Fifo<true>(capacity);
  const key = (traceId: string, spanId: string) => traceId + spanId;

  return {
    select(events: Unpriced[], spans: readonly SpanRef[]): { counted: Unpriced[]; superseded: number } {
      if (events.length === 0) return { counted: [], superseded: 0 };
      const traces = new Set(events.map((e) => e.traceId));
      for (const s of spans) if (traces.has(s.traceId)) parents.set(key(s.traceId, s.spanId), s.parentSpanId);
      for (const e of events) {
        if (e.role !== 'inference') continue;
        let parent = e.parentSpanId;
        for (let depth = 0; parent && depth < MAX_DEPTH; depth++) {
          const k = key(e.traceId, parent);
          hasCallBelow.set(k, true);
          parent = parents.get(k) ?? '';
        }
      }
      const counted: Unpriced[] = [];
      const seenCalls = new Map<string, string>();
      let superseded = 0;
      for (const e of events) {
        if (hasCallBelow.has(e.eventId)) {
          if (e.role === 'tool') counted.push(withoutTokens(e));
          superseded++;
          continue;
        }
        if (e.role === 'inference' && isSecondSpanOfSeenCall(e, seenCalls)) {
          superseded++;
          continue;
        }
        if (hasUsage(e)) counted.push(e);
      }
      return { counted, superseded };
    },
  };
}

/**
 * Two sibling spans for one call: the same response id, or (different instrumentations only, since one
 * instrumentation's identical parallel calls are real) the same parent, model, counts and second.
 */
function isSecondSpanOfSeenCall(e: Unpriced, seen: Map<string, string>): boolean {
  if (e.responseId) {
    const sig = `r|${e.traceId}|${e.responseId}`;
    if (seen.has(sig)) return true;
    seen.set(sig, e.family);
  }
  const sig = `s|${e.traceId}|${e.parentSpanId}|${e.model}|${e.inputTokens}|${e.outputTokens}|${Math.round(e.time / 1000)}`;
  const family = seen.get(sig);
  if (family !== undefined && family !== e.family) return true;
  if (family === undefined) seen.set(sig, e.family);
  return false;
}

function hasUsage(e: Unpriced): boolean {
  return e.requests > 0 || e.toolCalls > 0 || e.inputTokens > 0 || e.outputTokens > 0 || e.computeSeconds > 0 || (e.spanCost ?? 0) > 0;
}

function withoutTokens(e: Unpriced): Unpriced {
  return { ...e, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, spanCost: null };
}
export type CallDeduper = ReturnType<typeof createCallDeduper>;
