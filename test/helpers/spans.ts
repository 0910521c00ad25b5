import { DEFAULT_IDENTITY, type IdentityConfig } from '../../core/usage/identity.ts';
import type { MapResult, MappingConfig, Unpriced } from '../../core/usage/map-span.ts';
import type { Attributes, DecodedSpan } from '../../core/usage/types.ts';

/** Identity as unit tests map it: the default lists, nothing required, a readable stand-in for the keyed hash. */
export const TEST_IDENTITY: IdentityConfig = { lists: DEFAULT_IDENTITY, secretAttributes: [], required: [], keep: [], hash: (v) => `h(${v})` };

/** The mapping unit tests use: TEST_IDENTITY, 35 days of history, 5 minutes into the future. */
export const TEST_MAPPING: MappingConfig = { identity: TEST_IDENTITY, computeOperations: [], maxAgeMs: 35 * 86_400_000, maxFutureMs: 300_000 };

/** The event of a mapping result; anything else fails the test with the result shown. */
export function eventOf(r: MapResult): Unpriced {
  if (r.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(r)}`);
  return r.event;
}

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
