import { asString } from './attributes.ts';
import type { Attributes, DecodedSpan } from './types.ts';

/** `gen_ai.token.type` values and the count they are (older instrumentations say prompt/completion). */
const TOKEN_TYPES: Readonly<Record<string, 'input' | 'output'>> = { input: 'input', prompt: 'input', output: 'output', completion: 'output' };

/** What a histogram point of `gen_ai.client.token.usage` adds, once turned into a delta. Times are epoch nanoseconds. */
export interface TokenDelta {
  resource: Attributes;
  scopeName: string;
  scopeVersion: string;
  attributes: Attributes;
  startNano: bigint;
  timeNano: bigint;
  sum: number;
  count: number;
}

export type MetricSpanResult = { kind: 'span'; span: DecodedSpan } | { kind: 'skipped'; reason: 'unknown_token_type' | 'empty' };

/**
 * A token-usage delta as the span the usage mapping reads, so metrics are identified, priced, scoped and stored
 * exactly as spans are. The point's attributes and resource stay as they are (identity, model, provider, operation);
 * its sum becomes `gen_ai.usage.input_tokens` or `.output_tokens` by token type. The calls (`count`) are taken from
 * input points only: the input and output points of the same calls share their count, so counting both would double
 * the requests. A point without `gen_ai.operation.name` is taken as a `chat` call. `traceId` + `spanId` must be derived from the series and the point's time (the event id): a repeated
 * export then maps to the same event, which the store keeps once.
 */
export function tokenDeltaToSpan(d: TokenDelta, traceId: string, spanId: string): MetricSpanResult {
  const type = TOKEN_TYPES[asString(d.attributes['gen_ai.token.type']).toLowerCase()];
  if (!type) return { kind: 'skipped', reason: 'unknown_token_type' };
  const tokens = Math.round(d.sum);
  const requests = type === 'input' ? d.count : 0;
  if (tokens === 0 && requests === 0) return { kind: 'skipped', reason: 'empty' };
  const attributes: Attributes = { ...d.attributes, [type === 'input' ? 'gen_ai.usage.input_tokens' : 'gen_ai.usage.output_tokens']: tokens };
  delete attributes['gen_ai.token.type'];
  // The histogram is recorded for model calls: without an operation name the point is still an inference call.
  if (attributes['gen_ai.operation.name'] === undefined) attributes['gen_ai.operation.name'] = 'chat';
  return {
    kind: 'span',
    span: {
      traceId,
      spanId,
      parentSpanId: '',
      name: 'gen_ai.client.token.usage',
      kind: 3,
      startTimeUnixNano: d.startNano,
      endTimeUnixNano: d.timeNano,
      attributes,
      resource: d.resource,
      scopeName: d.scopeName,
      scopeVersion: d.scopeVersion,
      statusCode: 0,
      requests,
    },
  };
}
