import { describe, expect, it } from 'vitest';
import { decodeJson } from '../../collector/otlp/index.ts';
import type { DecodedSpan, UsageEvent } from '../../core/usage/types.ts';
import { meterSpans } from '../helpers/meter-spans.ts';
import { loadInstrumentationFixtures, type ExpectedCall, type ExpectedKind, type InstrumentationFixture } from '../helpers/instrumentation-fixtures.ts';

// Real OTLP exports of the instrumentation families (test/fixtures/instrumentations/README.md), run through the
// collector's own pipeline (decodeJson → mapSpan → call dedupe → pricing) with the default config: a
// user pointing any of them at tollkeeper gets correct per-key usage without writing config.


/** Calls whose two spans disagree after normalization (README quirk 1: OpenLIT's Anthropic stream output is +1). */
const EXPECTED_DISCREPANCIES: Record<string, number> = { 'openlit/anthropic-stream': 1 };

const KIND_FIELD: Record<ExpectedKind, 'apiKey' | 'tenant' | 'user' | 'conversation' | 'service'> = {
  api_key: 'apiKey',
  tenant: 'tenant',
  user: 'user',
  conversation: 'conversation',
  service: 'service',
};
const COUNTS = [
  ['input_tokens', 'inputTokens'],
  ['output_tokens', 'outputTokens'],
  ['cache_read_tokens', 'cacheReadTokens'],
  ['cache_write_tokens', 'cacheWriteTokens'],
  ['reasoning_tokens', 'reasoningTokens'],
] as const;

function decodeAll(f: InstrumentationFixture): DecodedSpan[][] {
  return f.bodies.map((body, i) => {
    const d = decodeJson(body);
    if (!d.ok) throw new Error(`${f.name}: request ${i} does not decode: ${d.error}`);
    return d.spans;
  });
}

const meter = (f: InstrumentationFixture) => meterSpans(decodeAll(f));

/** What the test can know of a call: fields the export does not carry are left out (or replaced by their documented fallback). */
function expectedRow(f: InstrumentationFixture, c: ExpectedCall): Record<string, string | number> {
  const skip = new Set(f.expected.not_in_export ?? []);
  // OpenInference OpenAI streams name only the request model: the response model is nowhere in the export.
  const model = f.raw.includes(`"stringValue":"${c.model}"`) ? c.model : c.request_model;
  // `provider` in not_in_export: the export names none, or only the framework (ADK's gcp.vertex.agent).
  const row: Record<string, string | number> = skip.has('provider') ? { model } : { provider: c.provider, model };
  for (const [name] of COUNTS) if (!skip.has(name)) row[name] = c[name];
  for (const [kind, value] of Object.entries(f.expected.identity)) row[kind] = value;
  return row;
}

function actualRow(f: InstrumentationFixture, e: UsageEvent): Record<string, string | number> {
  const skip = new Set(f.expected.not_in_export ?? []);
  const row: Record<string, string | number> = skip.has('provider') ? { model: e.model } : { provider: e.provider, model: e.model };
  for (const [name, field] of COUNTS) if (!skip.has(name)) row[name] = e[field];
  for (const kind of Object.keys(f.expected.identity) as ExpectedKind[]) row[kind] = e[KIND_FIELD[kind]];
  return row;
}

const fixtures = loadInstrumentationFixtures();

describe('instrumentation fixtures: real exports meter like the provider billed them', () => {
  it('covers every recorded family', () => {
    const families = new Set(fixtures.map((f) => f.name.split('/')[0]));
    expect([...families].sort()).toEqual([
      'anthropic-sdk',
      'aws-bedrock',
      'java-spring-ai',
      'langchain-openinference',
      'langchain-traceloop',
      'langfuse',
      'mastra',
      'openai-agents',
      'openinference',
      'openlit',
      'otel-genai',
      'python-crewai',
      'python-google-adk',
      'python-google-genai',
      'python-langfuse',
      'python-litellm',
      'python-openai-agents',
      'python-openinference',
      'python-openlit',
      'python-otel-genai',
      'python-pydantic-ai',
      'python-semantic-kernel',
      'python-strands',
      'python-traceloop',
      'traceloop',
      'vercel-ai',
    ]);
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('%s', async (name, f) => {
    const { written, errors, counters } = await meter(f);
    expect(errors, `${name}: spans rejected`).toEqual([]);
    expect(f.bodies.length, `${name}: export requests`).toBe(f.expected.export_requests);

    const calls = written.filter((e) => e.requests > 0).sort((a, b) => a.startTime - b.startTime || a.time - b.time);
    const others = written.filter((e) => e.requests === 0);
    expect(
      written.reduce((n, e) => n + e.requests, 0),
      `${name}: requests (calls counted: ${calls.map((e) => `${e.spanName}@${e.spanId}`).join(', ')})`,
    ).toBe(f.expected.requests);
    expect(
      written.reduce((n, e) => n + e.toolCalls, 0),
      `${name}: tool_calls`,
    ).toBe(f.expected.tool_calls);
    expect(
      others.filter((e) => e.inputTokens + e.outputTokens > 0).map((e) => `${e.spanName} (${e.operation}): ${e.inputTokens}/${e.outputTokens}`),
      `${name}: a span that is not a call carries tokens (an aggregate counted twice?)`,
    ).toEqual([]);

    expect(
      calls.map((e) => actualRow(f, e)),
      `${name}: per-call usage, model, provider and identity (semconv meaning; fields in not_in_export are not asserted)`,
    ).toEqual(f.expected.calls.map((c) => expectedRow(f, c)));

    for (const e of calls) {
      const where = `${name}: call ${e.spanName}@${e.spanId}`;
      if (e.inputTokens + e.outputTokens === 0) {
        // No counts on the span: the price is unknown, never a silent $0 (docs/concepts/pricing.md).
        expect(e.costSource, `${where}: a call without counts`).toBe('unpriced');
        continue;
      }
      expect(['span', 'price_db'], `${where}: cost source ${e.costSource}`).toContain(e.costSource);
      expect(e.costUsd, `${where}: priced at $0 (${e.costSource}, ${e.priceVersion})`).toBeGreaterThan(0);
    }
    expect(counters.callDiscrepancies, `${name}: calls whose spans disagree after normalization`).toBe(EXPECTED_DISCREPANCIES[name] ?? 0);
  });

  it("prices OpenLIT's cost 0 from the price DB instead of storing a $0 span cost", async () => {
    const f = fixtures.find((x) => x.name === 'openlit/openai-chat-unpriced');
    expect(f, 'fixture openlit/openai-chat-unpriced').toBeDefined();
    const { written } = await meter(f!);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ costSource: 'price_db', spanCost: null });
    expect(written[0]!.costUsd).toBeGreaterThan(0);
  });

  it("keeps OpenLIT's own cost on the SDK span of an Anthropic call when both spans agree, and not when they do not", async () => {
    const agree = await meter(fixtures.find((x) => x.name === 'openlit/anthropic-cache')!);
    expect(agree.written.map((e) => [e.family, e.costSource])).toEqual([
      ['anthropic-sdk', 'span'],
      ['anthropic-sdk', 'span'],
    ]);
    // call 1: 86 uncached × $3 + 1864 cache write × $3.75 + 741 out × $15 per Mtok, as OpenLIT computed it.
    expect(agree.written[0]!.costUsd).toBeCloseTo(0.018363, 6);
    const differ = await meter(fixtures.find((x) => x.name === 'openlit/anthropic-stream')!);
    expect(differ.written.map((e) => [e.outputTokens, e.costSource])).toEqual([[751, 'price_db']]);
  });

  it('counts a call reported by the LiteLLM gateway and by the app once, in either arrival order, at the price LiteLLM put on it', async () => {
    for (const name of ['python-litellm/gateway-beside-app', 'python-litellm/gateway-embeddings']) {
      const f = fixtures.find((x) => x.name === name)!;
      const [gateway, app] = decodeAll(f);
      const gatewayCost = gateway!.find((s) => s.scopeName === 'litellm')!.attributes['gen_ai.cost.total_cost'];
      for (const [order, requests] of [
        ['gateway first', [gateway!, app!]],
        ['app first', [app!, gateway!]],
        // the app's HTTP span (the only link between the two processes) alone in an earlier request, without usage
        ['link first', [app!.filter((s) => s.attributes['gen_ai.operation.name'] === undefined), [...gateway!, ...app!.filter((s) => s.attributes['gen_ai.operation.name'] !== undefined)]]],
      ] as [string, DecodedSpan[][]][]) {
        const { written, errors } = await meterSpans(requests);
        const where = `${name}, ${order}`;
        expect(errors, where).toEqual([]);
        expect(written.reduce((n, e) => n + e.requests, 0), where).toBe(1);
        expect(written.reduce((n, e) => n + e.inputTokens, 0), where).toBe(f.expected.calls[0]!.input_tokens);
        expect(written.reduce((n, e) => n + e.outputTokens, 0), where).toBe(f.expected.calls[0]!.output_tokens);
        expect(written.reduce((n, e) => n + e.costUsd, 0), where).toBeCloseTo(Number(gatewayCost), 9);
      }
    }
    // In export order (the gateway's span ends first) the call belongs to the gateway's virtual key and team.
    const { written } = await meter(fixtures.find((x) => x.name === 'python-litellm/gateway-beside-app')!);
    expect(written.filter((e) => e.requests > 0).map((e) => [e.service, e.tenant, e.costSource])).toEqual([['litellm-proxy', 'team-support', 'span']]);
  });

  it('counts each call once however many requests the spans arrive in', async () => {
    // The aggregate (ai.generateText) and the OpenInference wrapper span sent in a later request than their children.
    for (const name of ['vercel-ai/openai-tools', 'openinference/anthropic-tools']) {
      const f = fixtures.find((x) => x.name === name)!;
      const spans = decodeAll(f).flat();
      const isOuter = (s: DecodedSpan) => s.name === 'ai.generateText' || s.name === 'Anthropic Messages';
      const { written, errors } = await meterSpans([spans.filter((s) => !isOuter(s)), spans.filter(isOuter)]);
      expect(errors, name).toEqual([]);
      expect(written.reduce((n, e) => n + e.requests, 0), name).toBe(f.expected.requests);
      expect(written.reduce((n, e) => n + e.inputTokens, 0), name).toBe(f.expected.calls.reduce((n, c) => n + c.input_tokens, 0));
    }
  });
});

