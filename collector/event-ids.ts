import type { Unpriced } from '../core/usage/map-span.ts';
import type { DecodedSpan } from '../core/usage/types.ts';
import { hasValidIds } from './otlp/index.ts';

export type EventIdProblem = { code: 'invalid_ids' | 'duplicate_span_id'; message: string };

const withBigints = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

/**
 * Whether an event can be stored under its id (trace id + span id), which exactly-once relies on. An absent or
 * all-zero id (invalid in OTLP) would make unrelated calls share one id, and a span id repeated in one request for
 * other content would replace the earlier call: both are rejected, never dropped silently. An identical repeat (a
 * span exported twice in one request) is `'repeat'`: counted once, not an error. `byId` holds the request's events
 * so far by id (undefined while there are none).
 */
export function eventIdProblem(span: Pick<DecodedSpan, 'traceId' | 'spanId'>, event: Unpriced, byId: ReadonlyMap<string, Unpriced> | undefined): EventIdProblem | 'repeat' | null {
  if (!hasValidIds(span)) {
    return { code: 'invalid_ids', message: `span ${span.spanId || '(no span id)'} of trace ${span.traceId || '(no trace id)'}: its trace id and span id must be set and not all zero` };
  }
  const before = byId?.get(event.eventId);
  if (before === undefined) return null;
  if (JSON.stringify(before, withBigints) === JSON.stringify(event, withBigints)) return 'repeat';
  return { code: 'duplicate_span_id', message: `span ${span.spanId}: its trace id and span id are used by another span of this request with different content (the first one is kept)` };
}
