import { describe, expect, it } from 'vitest';
import { mapSpan, type MapResult } from '../../core/usage/map-span.ts';
import type { Attributes } from '../../core/usage/types.ts';
import { eventOf, span, TEST_MAPPING as config } from '../helpers/spans.ts';

// Google ADK's own spans (tracer gcp.vertex.agent; google/adk-python 692af95, telemetry/tracing.py): the call_llm
// span names no operation and leaves the thinking tokens out of its output count (docs/instrumentations.md).
const NOW = Date.UTC(2026, 10, 25, 12, 0, 5);
const usage = { cached_content_token_count: 1024, candidates_token_count: 306, prompt_token_count: 6427, thoughts_token_count: 194, total_token_count: 6927 };
const response = (u: object) => JSON.stringify({ content: { parts: [{ text: 'sunny' }], role: 'model' }, finish_reason: 'STOP', usage_metadata: u });
const callLlm = (extra: Attributes) =>
  mapSpan(span({ 'gen_ai.system': 'gcp.vertex.agent', 'gen_ai.request.model': 'gemini-2.5-flash', ...extra }, { name: 'call_llm', scopeName: 'gcp.vertex.agent', kind: 1 }), config, NOW);
const counted = (r: MapResult) => (r.kind === 'event' ? [r.event.requests, r.event.toolCalls] : [0, 0]);

describe('Google ADK call_llm spans', () => {
  it('is a request with the thinking tokens added to output and the cached count read from the response JSON', () => {
    const e = eventOf(callLlm({ 'gen_ai.usage.input_tokens': 6427, 'gen_ai.usage.output_tokens': 306, 'gcp.vertex.agent.llm_response': response(usage) }));
    expect([e.requests, e.inputTokens, e.outputTokens, e.reasoningTokens, e.cacheReadTokens]).toEqual([1, 6427, 500, 194, 1024]);
  });

  it('ADK before 1.5 (counts only in the JSON) and content capture off (no JSON: output without thoughts, still a request)', () => {
    const old = eventOf(callLlm({ 'gcp.vertex.agent.llm_response': response(usage) }));
    expect([old.requests, old.inputTokens, old.outputTokens, old.reasoningTokens]).toEqual([1, 6427, 500, 194]);
    const off = eventOf(callLlm({ 'gen_ai.usage.input_tokens': 6427, 'gen_ai.usage.output_tokens': 306, 'gcp.vertex.agent.llm_response': '{}' }));
    expect([off.requests, off.outputTokens, off.reasoningTokens]).toEqual([1, 306, 0]);
    const bare = eventOf(callLlm({}));
    expect([bare.requests, bare.inputTokens]).toEqual([1, 0]);
  });

  it('does not add the thoughts twice when the output already holds them, nor read the JSON of other spans', () => {
    const withThoughts = eventOf(callLlm({ 'gen_ai.usage.input_tokens': 6427, 'gen_ai.usage.output_tokens': 500, 'gcp.vertex.agent.llm_response': response(usage) }));
    expect([withThoughts.outputTokens, withThoughts.reasoningTokens]).toEqual([500, 0]);
    const other = eventOf(mapSpan(span({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 1, 'gen_ai.usage.output_tokens': 306, 'gcp.vertex.agent.llm_response': response(usage) }), config, NOW));
    expect([other.outputTokens, other.reasoningTokens]).toEqual([306, 0]);
    expect(counted(mapSpan(span({ 'gen_ai.request.model': 'gemini-2.5-flash' }, { name: 'call_llm' }), config, NOW))).toEqual([0, 0]);
  });

  it('a hostile response JSON gives no counts it does not hold and never throws', () => {
    for (const raw of ['{"usage_metadata": {"candidates_token_count": "lots"}}', '{"usage_metadata":', '"usage_metadata"'.repeat(10_000), 'x'.repeat(100_000)]) {
      const e = eventOf(callLlm({ 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5, 'gcp.vertex.agent.llm_response': raw }));
      expect([e.inputTokens, e.outputTokens, e.reasoningTokens]).toEqual([10, 5, 0]);
    }
  });

  it("ADK's execute_tool (merged) span after parallel calls is not a tool execution; the tools' own spans are", () => {
    const tool = (name: string) => mapSpan(span({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name }, { name: `execute_tool ${name}`, scopeName: 'gcp.vertex.agent' }), config, NOW);
    expect([counted(tool('get_weather')), counted(tool('(merged tools)'))]).toEqual([[0, 1], [0, 0]]);
  });
});
