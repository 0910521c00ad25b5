import { usageEvent } from './events.ts';
import { chatSpan, exportJson } from './otlp-bodies.ts';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

/** A week of ordinary usage for k-1: 60 calls an hour at $0.01 ($0.60/h), ending the hour before `now`. */
export function keyHistory(now: number) {
  const end = Math.floor(now / HOUR) * HOUR;
  return Array.from({ length: 7 * 24 }, (_, h) => usageEvent({ apiKey: 'k-1', tenant: 'acme', requests: 60, costUsd: 0.6, inputTokens: 60_000, time: end - (h + 1) * HOUR + 30 * MIN }));
}

/** An OTLP body: 8 calls of k-1 at 10× its usual cost, ending between 3 s and 17 s into the minute `minute`. */
export function attackSpans(minute: number): string {
  return exportJson(
    Array.from({ length: 8 }, (_, i) =>
      Object.assign(chatSpan({ 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.cost': 0.1, 'tollkeeper.api_key.id': 'k-1', 'tenant.id': 'acme' }), { endMs: minute + 3 * SEC + i * 2 * SEC }),
    ),
  );
}
