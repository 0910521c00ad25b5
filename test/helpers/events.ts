import type { UsageEvent } from '../../core/usage/types.ts';

let n = 0;

/** A priced usage event, for writing straight into the store in integration tests. */
export function usageEvent(e: Partial<UsageEvent> = {}): UsageEvent {
  n++;
  const id = `${process.pid.toString(16)}${n.toString(16)}`.padStart(48, '0');
  const time = e.time ?? Date.now();
  return {
    eventId: id,
    traceId: id.slice(0, 32),
    spanId: id.slice(32),
    parentSpanId: '',
    time,
    startTime: time - 1000,
    service: 'svc',
    apiKey: '',
    user: '',
    tenant: '',
    agent: '',
    conversation: '',
    attributes: {},
    family: 'semconv',
    provider: 'openai',
    model: 'gpt-4o',
    operation: 'chat',
    spanName: 'chat gpt-4o',
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    requests: 1,
    toolCalls: 0,
    toolName: '',
    computeSeconds: 0,
    costUsd: 0,
    spanCost: null,
    costSource: 'price_db',
    priceVersion: 'test',
    ...e,
  };
}
