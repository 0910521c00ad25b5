import { randomBytes } from 'node:crypto';
import type { UsageEvent } from '../../core/usage/types.ts';
import { API_KEYS, TENANTS } from './otlp-requests.ts';

/** Usage events shaped like the ones the collector makes from bench/lib/otlp-requests.ts spans. */
export function usageEvents(n: number, nowMs = Date.now()): UsageEvent[] {
  const salt = randomBytes(8).toString('hex');
  return Array.from({ length: n }, (_, i) => {
    const openai = i % 2 === 0;
    const key = (i * 7919) % API_KEYS;
    const traceId = salt + i.toString(16).padStart(16, '0');
    const spanId = i.toString(16).padStart(16, '0');
    const input = 1500 + (i % 300);
    const output = 200 + (i % 50);
    return {
      eventId: traceId + spanId,
      traceId,
      spanId,
      parentSpanId: '',
      time: nowMs - 1000 + Math.floor(i / 100),
      startTime: nowMs - 2000 + Math.floor(i / 100),
      service: `chat-api-${i % 4}`,
      apiKey: `key-${key.toString().padStart(4, '0')}`,
      user: `user-${i % 5000}`,
      tenant: `tenant-${key % TENANTS}`,
      agent: '',
      conversation: `conv-${i % 997}`,
      attributes: {},
      family: 'semconv',
      provider: openai ? 'openai' : 'anthropic',
      model: openai ? 'gpt-4o-2024-08-06' : 'claude-3-5-sonnet-20241022',
      operation: 'chat',
      spanName: openai ? 'chat gpt-4o' : 'chat claude-3-5-sonnet',
      inputTokens: input,
      outputTokens: output,
      cacheReadTokens: i % 3 === 0 ? 1024 : 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
      requests: 1,
      toolCalls: 0,
      toolName: '',
      computeSeconds: 0,
      costUsd: (input * 2.5 + output * 10) / 1e6,
      costSource: 'price_db',
      priceVersion: 'bench',
    };
  });
}
