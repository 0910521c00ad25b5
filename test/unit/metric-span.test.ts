import { describe, expect, it } from 'vitest';
import { mapSpan, type MappingConfig } from '../../core/usage/map-span.ts';
import { DEFAULT_IDENTITY } from '../../core/usage/identity.ts';
import { tokenDeltaToSpan, type TokenDelta } from '../../core/usage/metric-span.ts';

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const config: MappingConfig = {
  identity: { lists: DEFAULT_IDENTITY, secretAttributes: [], required: [], keep: [], hash: (v) => `h:${v}` },
  computeOperations: [],
  maxAgeMs: 86_400_000,
  maxFutureMs: 300_000,
};

const delta = (type: string, sum: number, count: number, extra: Record<string, string> = {}): TokenDelta => ({
  resource: { 'service.name': 'svc', 'tollkeeper.tenant.id': 't-1' },
  scopeName: 'test',
  scopeVersion: '',
  attributes: { 'gen_ai.token.type': type, 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.system': 'openai', 'tollkeeper.api_key.id': 'k-1', ...extra },
  startNano: BigInt(NOW - 60_000) * 1_000_000n,
  timeNano: BigInt(NOW) * 1_000_000n,
  sum,
  count,
});

function eventOf(d: TokenDelta) {
  const r = tokenDeltaToSpan(d, 'a'.repeat(32), 'b'.repeat(16));
  if (r.kind !== 'span') throw new Error(`skipped: ${r.reason}`);
  const m = mapSpan(r.span, config, NOW);
  if (m.kind !== 'event') throw new Error(`not an event: ${m.kind}`);
  return m.event;
}

describe('tokenDeltaToSpan', () => {
  it('an input point gives input tokens and its count as requests, with identity from point and resource', () => {
    const e = eventOf(delta('input', 120, 3));
    expect({ input: e.inputTokens, output: e.outputTokens, requests: e.requests, apiKey: e.apiKey, tenant: e.tenant, service: e.service, model: e.model, provider: e.provider, operation: e.operation })
      .toEqual({ input: 120, output: 0, requests: 3, apiKey: 'k-1', tenant: 't-1', service: 'svc', model: 'gpt-4o-mini', provider: 'openai', operation: 'chat' });
  });

  it('an output point gives output tokens and no requests (its calls are the input point\'s)', () => {
    const e = eventOf(delta('output', 45, 3, { 'gen_ai.operation.name': 'text_completion' }));
    expect({ input: e.inputTokens, output: e.outputTokens, requests: e.requests, operation: e.operation }).toEqual({ input: 0, output: 45, requests: 0, operation: 'text_completion' });
  });

  it('maps the older prompt/completion names and skips other token types and empty deltas', () => {
    expect(eventOf(delta('prompt', 5, 1)).inputTokens).toBe(5);
    expect(eventOf(delta('completion', 6, 1)).outputTokens).toBe(6);
    expect(tokenDeltaToSpan(delta('cached', 5, 1), 'a'.repeat(32), 'b'.repeat(16))).toEqual({ kind: 'skipped', reason: 'unknown_token_type' });
    expect(tokenDeltaToSpan(delta('output', 0, 0), 'a'.repeat(32), 'b'.repeat(16))).toEqual({ kind: 'skipped', reason: 'empty' });
  });
});
