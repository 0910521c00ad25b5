import { describe, expect, it } from 'vitest';
import { DEFAULT_IDENTITY, type IdentityConfig } from '../../core/usage/identity.ts';
import { mapSpan, type MappingConfig, type MapResult } from '../../core/usage/map-span.ts';
import { span } from '../helpers/spans.ts';

// Rules learnt from agent frameworks and gateways (docs/concepts/one-call.md, "What a span is"); the recorded and
// source-derived exports that need them are in test/fixtures/instrumentations/.
const NOW = Date.UTC(2026, 10, 25, 12, 0, 5);
const identity: IdentityConfig = { lists: DEFAULT_IDENTITY, secretAttributes: [], required: [], keep: [], hash: (v) => `h(${v})` };
const config: MappingConfig = { identity, computeOperations: [], maxAgeMs: 35 * 86_400_000, maxFutureMs: 300_000 };

/** What a span adds to the requests and tool_calls dimensions (a span that is no event adds nothing). */
function counted(r: MapResult): [number, number] {
  if (r.kind === 'rejected') throw new Error(`unexpected rejection: ${r.reason}`);
  return r.kind === 'event' ? [r.event.requests, r.event.toolCalls] : [0, 0];
}

function event(r: MapResult) {
  if (r.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(r)}`);
  return r.event;
}

describe('mapSpan: agent frameworks and gateways', () => {
  it('counts a hand-off between agents as neither a request nor a tool execution', () => {
    expect(counted(mapSpan(span({ 'openinference.span.kind': 'TOOL', 'tool.name': 'handoff_to_billing' }, { name: 'handoff to billing' }), config, NOW))).toEqual([0, 0]);
    const contrib = event(mapSpan(span({ 'gen_ai.operation.name': 'agent_handoff' }, { name: 'agent_handoff billing' }), config, NOW));
    expect([contrib.role, contrib.requests, contrib.toolCalls]).toEqual(['container', 0, 0]);
    // a real tool span of the same family still is one
    expect(counted(mapSpan(span({ 'openinference.span.kind': 'TOOL', 'tool.name': 'get_weather' }, { name: 'get_weather' }), config, NOW))).toEqual([0, 1]);
  });

  it("counts LiteLLM's async call types (acompletion, aembedding) as requests", () => {
    for (const op of ['acompletion', 'aembedding']) {
      const e = event(mapSpan(span({ 'gen_ai.operation.name': op, 'gen_ai.usage.input_tokens': 40, 'gen_ai.system': 'openai' }, { name: 'litellm_request' }), config, NOW));
      expect([op, e.role, e.requests]).toEqual([op, 'inference', 1]);
    }
    // without message logging LiteLLM sets no operation name, only llm.request.type
    const quiet = event(mapSpan(span({ 'llm.request.type': 'acompletion', 'gen_ai.usage.input_tokens': 40 }, { name: 'Received Proxy Server Request' }), config, NOW));
    expect(quiet.requests).toBe(1);
  });

  it("reads LiteLLM's virtual key, team and end user, and its cost", () => {
    const e = event(
      mapSpan(
        span({
          'gen_ai.operation.name': 'acompletion',
          'gen_ai.usage.input_tokens': 40,
          'gen_ai.usage.output_tokens': 9,
          'metadata.user_api_key_hash': 'hash-of-sk-1',
          'metadata.user_api_key_team_id': 'team-7',
          'metadata.user_api_key_end_user_id': 'end-user-3',
          'gen_ai.cost.total_cost': 0.0042,
        }),
        config,
        NOW,
      ),
    );
    expect([e.apiKey, e.tenant, e.user, e.spanCost]).toEqual(['hash-of-sk-1', 'team-7', 'end-user-3', 0.0042]);
  });

  it("reads Pydantic AI's reasoning and thinking detail counts", () => {
    const openai = event(mapSpan(span({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 50, 'gen_ai.usage.details.reasoning_tokens': 20 }), config, NOW));
    expect(openai.reasoningTokens).toBe(20);
    const anthropic = event(mapSpan(span({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 50, 'gen_ai.usage.details.thinking_tokens': 30 }), config, NOW));
    expect(anthropic.reasoningTokens).toBe(30);
  });

  it("takes the provider from OpenInference's metadata JSON when the span names none (LangChain runs)", () => {
    const e = event(mapSpan(span({ 'openinference.span.kind': 'LLM', 'llm.token_count.prompt': 10, metadata: '{"ls_provider":"openai","api_key_id":"k-9"}' }), config, NOW));
    expect([e.provider, e.apiKey]).toEqual(['openai', 'k-9']);
    const broken = event(mapSpan(span({ 'openinference.span.kind': 'LLM', 'llm.token_count.prompt': 10, metadata: '{"ls_provider":' }), config, NOW));
    expect(broken.provider).toBe('');
  });

  it('counts a Bedrock InvokeModel span of the AWS SDK instrumentation as a request, with or without counts', () => {
    const sdk = { 'rpc.system': 'aws-api', 'rpc.service': 'BedrockRuntime', 'gen_ai.system': 'aws.bedrock', 'gen_ai.request.model': 'anthropic.claude-3-5-haiku-20241022-v1:0' };
    const o = { name: 'BedrockRuntime.InvokeModel', scopeName: '@opentelemetry/instrumentation-aws-sdk' };
    const invoke = event(mapSpan(span({ ...sdk, 'rpc.method': 'InvokeModel', 'gen_ai.usage.input_tokens': 126, 'gen_ai.usage.output_tokens': 1061 }, o), config, NOW));
    expect([invoke.role, invoke.requests, invoke.provider, invoke.inputTokens]).toEqual(['inference', 1, 'aws.bedrock', 126]);
    // a stream whose model family the instrumentation cannot read: still a request (stored unpriced)
    expect(counted(mapSpan(span({ ...sdk, 'rpc.method': 'InvokeModelWithResponseStream' }, { ...o, name: 'BedrockRuntime.InvokeModelWithResponseStream' }), config, NOW))).toEqual([1, 0]);
    // other AWS calls are not
    expect(counted(mapSpan(span({ 'rpc.system': 'aws-api', 'rpc.service': 'BedrockRuntime', 'rpc.method': 'ListAsyncInvokes' }, o), config, NOW))).toEqual([0, 0]);
  });

  it("adds the cache back to OpenLLMetry's Python Bedrock input (Bedrock's count leaves it out), even when the input is the larger", () => {
    const attrs = { 'gen_ai.provider.name': 'aws.bedrock', 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 4129, 'gen_ai.usage.output_tokens': 70, 'gen_ai.usage.cache_read.input_tokens': 1895, 'gen_ai.usage.cache_creation.input_tokens': 245 };
    const traceloop = event(mapSpan(span(attrs, { scopeName: 'opentelemetry.instrumentation.bedrock', scopeVersion: '0.62.1' }), config, NOW));
    expect([traceloop.inputTokens, traceloop.cacheReadTokens, traceloop.cacheWriteTokens]).toEqual([6269, 1895, 245]);
    // the same names from a semconv instrumentation mean input with cache
    const contrib = event(mapSpan(span(attrs, { scopeName: 'opentelemetry.instrumentation.botocore', scopeVersion: '0.66b0' }), config, NOW));
    expect(contrib.inputTokens).toBe(4129);
  });

  it('reads Strands Agents spans by their model: Bedrock ids are aws.bedrock with input without cache, others keep their meaning', () => {
    const strands = (model: string, input: number, cacheRead: number, cacheWrite?: number) =>
      event(
        mapSpan(
          span(
            { 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'strands-agents', 'gen_ai.request.model': model, 'gen_ai.usage.input_tokens': input, 'gen_ai.usage.output_tokens': 40, 'gen_ai.usage.cache_read_input_tokens': cacheRead, ...(cacheWrite === undefined ? {} : { 'gen_ai.usage.cache_write_input_tokens': cacheWrite }) },
            { name: 'chat', scopeName: 'strands.telemetry.tracer' },
          ),
          config,
          NOW,
        ),
      );
    const bedrock = strands('global.anthropic.claude-sonnet-4-6', 4133, 1899, 249);
    expect([bedrock.provider, bedrock.family, bedrock.inputTokens, bedrock.cacheReadTokens, bedrock.cacheWriteTokens]).toEqual(['aws.bedrock', 'strands', 6281, 1899, 249]);
    expect(strands('arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0', 10, 0).provider).toBe('aws.bedrock');
    // OpenAI through Strands: prompt_tokens already hold the cached ones, and the provider is not named
    const openai = strands('gpt-4o', 2000, 1024);
    expect([openai.provider, openai.inputTokens, openai.cacheReadTokens]).toEqual(['', 2000, 1024]);
    // its invoke_agent span repeats the run's sum: no usage of its own, and not an unknown vocabulary either
    const run = event(mapSpan(span({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.system': 'strands-agents', 'gen_ai.usage.input_tokens': 8311, 'gen_ai.usage.output_tokens': 2223 }, { name: 'invoke_agent A', scopeName: 'strands.telemetry.tracer' }), config, NOW));
    expect([run.role, run.inputTokens, run.outputTokens, run.meta.unrecognized]).toEqual(['container', 0, 0, undefined]);
  });

  it("adds the cache back to Spring AI's Anthropic and Bedrock Converse input (the provider's own count), not to OpenAI's", () => {
    const spring = (system: string, input: number) =>
      event(mapSpan(span({ 'gen_ai.operation.name': 'chat', 'gen_ai.system': system, 'gen_ai.request.model': 'm', 'gen_ai.usage.input_tokens': input, 'gen_ai.usage.output_tokens': 9, 'gen_ai.usage.cache_read.input_tokens': 1000 }, { scopeName: 'org.springframework.boot', scopeVersion: '4.0.1' }), config, NOW)).inputTokens;
    expect([spring('anthropic', 4124), spring('bedrock_converse', 4124), spring('openai', 4124)]).toEqual([5124, 5124, 4124]);
  });

  it("Semantic Kernel's execute_tool span around a function the app invoked is no tool call; the model's calls (with a call id) are", () => {
    const sk = (extra: Record<string, string>, scopeName = 'semantic_kernel.functions.kernel_function') =>
      counted(mapSpan(span({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'assistant-ask', ...extra }, { name: 'execute_tool assistant-ask', scopeName }), config, NOW));
    expect([sk({}), sk({ 'gen_ai.tool.call.id': 'call_1' }), sk({}, 'my-app')]).toEqual([[0, 0], [0, 1], [0, 1]]);
  });

  it("finds identity under Mastra's mastra.metadata.* attributes", () => {
    const e = event(mapSpan(span({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 10, 'mastra.metadata.api_key_id': 'k-m', 'mastra.metadata.tenant_id': 't-m' }), config, NOW));
    expect([e.apiKey, e.tenant]).toEqual(['k-m', 't-m']);
  });
});
