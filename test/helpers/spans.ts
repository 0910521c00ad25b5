import type { Attributes, DecodedSpan } from '../../core/usage/types.ts';

let counter = 0;

/** A decoded span as the collector sees it after OTLP decoding. Ids are unique unless given. */
export function span(attributes: Attributes, o: Partial<Omit<DecodedSpan, 'attributes'>> & { endMs?: number } = {}): DecodedSpan {
  counter++;
  const end = BigInt(o.endMs ?? Date.UTC(2026, 10, 25, 12, 0, 0)) * 1_000_000n;
  return {
    traceId: o.traceId ?? counter.toString(16).padStart(32, '0'),
    spanId: o.spanId ?? counter.toString(16).padStart(16, '0'),
    parentSpanId: o.parentSpanId ?? '',
    name: o.name ?? 'chat gpt-4o',
    kind: o.kind ?? 3,
    startTimeUnixNano: o.startTimeUnixNano ?? end - 1_500_000_000n,
    endTimeUnixNano: o.endTimeUnixNano ?? end,
    attributes,
    resource: o.resource ?? { 'service.name': 'svc' },
    scopeName: o.scopeName ?? 'test',
    scopeVersion: o.scopeVersion ?? '1',
    statusCode: o.statusCode ?? 0,
  };
}
