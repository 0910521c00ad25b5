import { asNumber, asString, firstNumber, lookup } from './attributes.ts';
import { COST_ATTRS, MODEL_ATTRS, PROVIDER_ATTRS, TOKEN_ATTRS, detectFamily, inputExcludesCache } from './families.ts';
import { resolveIdentity, type IdentityConfig } from './identity.ts';
import { operationOf, roleOf, type SpanRole } from './operation.ts';
import type { DecodedSpan, UsageEvent } from './types.ts';

export interface MappingConfig {
  identity: IdentityConfig;
  /** Operations whose span duration counts as compute time. */
  computeOperations: readonly string[];
  maxAgeMs: number;
  maxFutureMs: number;
}

/** A usage event before pricing, plus what the collector needs to dedupe calls described by several spans. */
export type Unpriced = Omit<UsageEvent, 'costUsd' | 'costSource' | 'priceVersion'> & { role: SpanRole; responseId: string };

export type MapResult = { kind: 'event'; event: Unpriced } | { kind: 'ignored' } | { kind: 'rejected'; reason: string };

const IDENTITY_ONLY = new Set(['tollkeeper.api_key.id', 'tollkeeper.tenant.id', 'tollkeeper.user.id']);

/** gen_ai.usage.*, the families' usage names and tollkeeper.* metering attributes (identity alone never meters). */
function isMeteringAttribute(key: string): boolean {
  if (key.startsWith('tollkeeper.')) return !IDENTITY_ONLY.has(key);
  return key.startsWith('gen_ai.usage.') || key.startsWith('llm.token_count.') || key.startsWith('ai.usage.');
}

/** Counts above this are not tokens but bugs or attacks. */
const MAX_TOKENS = 100_000_000;
const MAX_COST_USD = 100_000;

/** Maps one decoded span to a usage event (SPEC §1), or says why it is not one. Pure. */
export function mapSpan(span: DecodedSpan, config: MappingConfig, now: number): MapResult {
  const a = span.attributes;
  const family = detectFamily(a, span.scopeName);
  const operation = operationOf(a, family);
  const role = roleOf(a, family, operation, span.name);
  const metered = Object.keys(a).some(isMeteringAttribute);
  const familyMarksCall = family !== 'semconv' && (role === 'inference' || role === 'tool');
  if (!metered && !a['gen_ai.operation.name'] && !familyMarksCall) return { kind: 'ignored' };

  const where = `span ${span.spanId}`;
  const tokens: Record<keyof typeof TOKEN_ATTRS, number> = { input: 0, output: 0, total: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 };
  for (const key of Object.keys(TOKEN_ATTRS) as (keyof typeof TOKEN_ATTRS)[]) {
    const found = firstNumber(a, TOKEN_ATTRS[key]);
    if (!found) continue;
    const v = found.value;
    if (!Number.isFinite(v) || v < 0 || !Number.isInteger(v) || v > MAX_TOKENS) {
      return { kind: 'rejected', reason: `${where}: ${found.name} must be a whole number of tokens between 0 and ${MAX_TOKENS}, got ${found.value}` };
    }
    tokens[key] = v;
  }
  const provider = normalizeProvider(asString(lookup(a, span.resource, PROVIDER_ATTRS)));
  if (inputExcludesCache(family, provider)) tokens.input += tokens.cacheRead + tokens.cacheWrite;
  // Output includes reasoning by definition; a family that reports them apart is caught by total.
  if (tokens.input === 0 && tokens.output === 0 && tokens.total > 0) tokens.input = tokens.total;

  let spanCost: number | null = null;
  const cost = firstNumber(a, COST_ATTRS);
  if (cost) {
    if (!Number.isFinite(cost.value) || cost.value < 0 || cost.value > MAX_COST_USD) {
      return { kind: 'rejected', reason: `${where}: ${cost.name} must be a finite amount >= 0, got ${cost.value}` };
    }
    const currency = asString(a['gen_ai.usage.cost.currency']).toUpperCase();
    if (currency === '' || currency === 'USD') spanCost = cost.value;
  }

  const time = Number(span.endTimeUnixNano / 1_000_000n);
  const startTime = Number(span.startTimeUnixNano / 1_000_000n);
  if (time < now - config.maxAgeMs) return { kind: 'rejected', reason: `${where}: ended ${new Date(time).toISOString()}, older than ingest.max_age` };
  if (time > now + config.maxFutureMs) return { kind: 'rejected', reason: `${where}: ends ${new Date(time).toISOString()}, in the future` };

  const identity = resolveIdentity(a, span.resource, config.identity);
  if (!identity.ok) return { kind: 'rejected', reason: `${where}: ${identity.error}` };

  let computeSeconds = 0;
  const explicitCompute = asNumber(a['tollkeeper.compute.seconds']);
  if (explicitCompute !== undefined) {
    if (!Number.isFinite(explicitCompute) || explicitCompute < 0 || explicitCompute > 86_400 * 366) {
      return { kind: 'rejected', reason: `${where}: tollkeeper.compute.seconds must be a finite number >= 0` };
    }
    computeSeconds = explicitCompute;
  } else if (operation && config.computeOperations.includes(operation)) {
    computeSeconds = Math.max(0, time - startTime) / 1000;
  }

  const toolName = asString(a['gen_ai.tool.name']) || asString(a['ai.toolCall.name']) || asString(a['tool.name']) || (role === 'tool' ? asString(a['traceloop.entity.name']) : '');
  return {
    kind: 'event',
    event: {
      eventId: span.traceId + span.spanId,
      traceId: span.traceId,
      spanId: span.spanId,
      parentSpanId: span.parentSpanId,
      time,
      startTime,
      ...identity.value,
      family,
      provider,
      model: asString(lookup(a, {}, MODEL_ATTRS)),
      operation,
      spanName: span.name.slice(0, 256),
      inputTokens: tokens.input,
      outputTokens: tokens.output,
      cacheReadTokens: Math.min(tokens.cacheRead, tokens.input),
      cacheWriteTokens: Math.min(tokens.cacheWrite, tokens.input),
      reasoningTokens: Math.min(tokens.reasoning, tokens.output),
      requests: role === 'inference' ? 1 : 0,
      toolCalls: role === 'tool' ? 1 : 0,
      toolName,
      computeSeconds,
      role,
      spanCost,
      responseId: asString(a['gen_ai.response.id']) || asString(a['ai.response.id']),
    },
  };
}

/** `openai.chat` (Vercel) → `openai`; `az.ai.openai` stays; lower case. */
function normalizeProvider(p: string): string {
  const lower = p.toLowerCase();
  const vercel = /^(openai|anthropic|google|mistral|cohere|groq|xai|deepseek|bedrock|azure)\.(chat|messages|responses|completion|embedding|generative-ai|text)$/.exec(lower);
  return vercel?.[1] ?? lower;
}
