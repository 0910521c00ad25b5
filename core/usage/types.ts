/** Entity kinds a usage event can be attributed to (identity: docs/concepts/one-call.md). */
export const ENTITY_KINDS = ['api_key', 'user', 'tenant', 'agent', 'conversation', 'service'] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

/** An OTLP attribute value after decoding (int64 becomes number when safe, else bigint). */
export type AttrValue = string | number | boolean | bigint | Uint8Array | null | AttrValue[] | { [key: string]: AttrValue };
export type Attributes = Record<string, AttrValue>;

/** A span as decoded from OTLP protobuf or JSON: ids as lowercase hex, times as epoch nanoseconds. */
export interface DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attributes;
  resource: Attributes;
  scopeName: string;
  scopeVersion: string;
  statusCode: number;
  /** Calls the span stands for when not one: a metric point's count of calls (docs/otlp-metrics.md). */
  requests?: number;
}

export type CostSource = 'span' | 'override' | 'price_db' | 'estimated' | 'unpriced';

/** One metered unit of work: an inference call, a tool execution or a compute span (docs/concepts/one-call.md). */
export interface UsageEvent {
  eventId: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  /** Event time: the span's end, epoch milliseconds. */
  time: number;
  startTime: number;
  service: string;
  apiKey: string;
  user: string;
  tenant: string;
  agent: string;
  conversation: string;
  /** Further mapped attributes usable in policy `match` selectors and custom scopes. */
  attributes: Record<string, string>;
  family: string;
  provider: string;
  model: string;
  operation: string;
  spanName: string;
  /** Semconv meaning: input includes cache read and cache creation tokens. */
  inputTokens: number;
  /** Semconv meaning: output includes reasoning tokens. */
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  requests: number;
  toolCalls: number;
  toolName: string;
  computeSeconds: number;
  costUsd: number;
  /** Cost the span itself reported (USD), kept so a re-rating can apply the same precedence. */
  spanCost: number | null;
  costSource: CostSource;
  priceVersion: string;
}
