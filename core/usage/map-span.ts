import { asNumber, asString, firstNumber, lookup, showValue } from './attributes.ts';
import { COST_ATTRS, MODEL_ATTRS, TOKEN_ATTRS, detectProfile, inputExcludesCache, normalizeProvider, type TokenField } from './families.ts';
import { identityKeys, missingIdentityError, ownIdentity, resolveSpanIdentity, type IdentityConfig, type InheritableIdentity } from './identity.ts';
import { jsonCounts } from './json-counts.ts';
import { LANGFUSE_COST, LANGFUSE_USAGE, langfuseCost } from './langfuse.ts';
import { operationOf, roleOf, type SpanRole } from './operation.ts';
import { providerOf } from './span-provider.ts';
import type { Attributes, DecodedSpan, UsageEvent } from './types.ts';

export interface MappingConfig {
  identity: IdentityConfig;
  /** Operations whose span duration counts as compute time. */
  computeOperations: readonly string[];
  maxAgeMs: number;
  maxFutureMs: number;
}

/** What the call deduper needs beyond the event: which counts the span reported and which ids it may inherit. */
export interface CallMeta {
  /** Bit per token field the span reported (TOKEN_BITS); a call span without any is still a request. */
  tokenFields: number;
  /** Bit per INHERITABLE kind whose value came from the resource or nowhere: an ancestor span's value replaces it. */
  weakIdentity: number;
  /** Bits of identity.required kinds missing on the span and its resource: rejected unless an ancestor supplies them. */
  missingRequired: number;
  /** The instrumentation scope: spans of one call from two different instrumentations may be counted once. */
  scope: string;
  /** Usage-prefixed attribute names on a span none of whose names gave a count or a cost (an unknown vocabulary). */
  unrecognized: readonly string[] | undefined;
}

export const TOKEN_BITS: Record<Exclude<TokenField, 'total'>, number> = { input: 1, output: 2, cacheRead: 4, cacheWrite: 8, reasoning: 16 };

/** A usage event before pricing, plus what the collector needs to dedupe calls described by several spans. */
export type Unpriced = Omit<UsageEvent, 'costUsd' | 'costSource' | 'priceVersion'> & { role: SpanRole; responseId: string; meta: CallMeta };

/** `ignored` spans may still pass identity down to the calls below them. */
export type MapResult = { kind: 'event'; event: Unpriced } | { kind: 'ignored'; identity?: InheritableIdentity } | { kind: 'rejected'; reason: string; code?: RejectCode };

/** Why a span was refused, as counted per reason in the ingest stats. */
export type RejectCode = 'invalid_tokens' | 'invalid_cost' | 'too_old' | 'in_future' | 'identity_missing' | 'invalid_compute';

// Attributes that say who or which admission a call belongs to: alone they never make a span a usage event.
const IDENTITY_ONLY = new Set(['tollkeeper.api_key.id', 'tollkeeper.tenant.id', 'tollkeeper.user.id', 'tollkeeper.reservation.id']);
const EMPTY: Attributes = {};
const TOKEN_FIELDS = Object.keys(TOKEN_ATTRS) as TokenField[];

/** Counts above this are not tokens but bugs or attacks. */
const MAX_TOKENS = 100_000_000;
const MAX_COST_USD = 100_000;

/** Attribute names under which families report usage; a span with any of them is metered. */
// Written out rather than a loop over a list: it runs for every attribute of every span.
const isUsageKey = (key: string) =>
  key.startsWith('gen_ai.usage.') || key.startsWith('llm.token_count.') || key.startsWith('ai.usage.') || key.startsWith('llm.usage.') || key === LANGFUSE_USAGE || key === LANGFUSE_COST;

/** The usage-prefixed names of a span from which no count or cost was read: counted per name so the vocabulary can grow. */
function unrecognizedUsage(a: Attributes): string[] | undefined {
  const names: string[] = [];
  for (const key in a) if (isUsageKey(key) && names.length < 16) names.push(key.slice(0, 128));
  return names.length > 0 ? names : undefined;
}

/** One pass over the keys: does the span meter anything (docs/concepts/one-call.md), and does it carry identity to hand down? */
function scanKeys(a: Attributes, ids: ReadonlyMap<string, unknown>): { metered: boolean; identity: boolean } {
  let metered = false;
  let identity = false;
  for (const key in a) {
    if (ids.has(key) || key === 'metadata') {
      identity = true;
      continue;
    }
    if (metered) continue;
    if (isUsageKey(key)) metered = true;
    else if (key.startsWith('tollkeeper.')) metered = !IDENTITY_ONLY.has(key);
  }
  return { metered, identity };
}

const isTokenCount = (v: number) => Number.isFinite(v) && v >= 0 && Number.isInteger(v) && v <= MAX_TOKENS;
const badTokens = (spanId: string, name: string, shown: string): MapResult => ({
  kind: 'rejected',
  reason: `span ${spanId}: ${name} must be a whole number of tokens between 0 and ${MAX_TOKENS}, got ${shown}`,
  code: 'invalid_tokens',
});
function langfuseCostOf(a: Attributes): { name: string; value: number } | undefined {
  const value = a[LANGFUSE_COST] === undefined ? undefined : langfuseCost(a);
  return value === undefined ? undefined : { name: LANGFUSE_COST, value };
}

/** Maps one decoded span to a usage event (docs/concepts/one-call.md), or says why it is not one. Pure. */
export function mapSpan(span: DecodedSpan, config: MappingConfig, now: number): MapResult {
  const a = span.attributes;
  const keys = scanKeys(a, identityKeys(config.identity));
  const op = asString(a['gen_ai.operation.name']);
  if (!keys.metered) {
    const role = roleOf(a, span.name, false, span.scopeName);
    if (!op && role !== 'inference' && role !== 'tool') {
      const identity = keys.identity ? ownIdentity(a, config.identity) : undefined;
      return identity ? { kind: 'ignored', identity } : { kind: 'ignored' };
    }
  }

  const tokens: Record<TokenField, number> = { input: 0, output: 0, total: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 };
  let tokenFields = 0;
  if (keys.metered) {
    for (const field of TOKEN_FIELDS) {
      const found = firstNumber(a, TOKEN_ATTRS[field]);
      if (!found) continue;
      if (!isTokenCount(found.value)) return badTokens(span.spanId, found.name, showValue(a[found.name]));
      tokens[field] = found.value;
      if (field !== 'total') tokenFields |= TOKEN_BITS[field];
    }
  }
  const json = jsonCounts(a, span.name, tokens, tokenFields !== 0 || tokens.total > 0);
  if (json) {
    for (const field of TOKEN_FIELDS) {
      const v = json.counts[field];
      if (v === undefined) continue;
      if (!isTokenCount(v)) return badTokens(span.spanId, `${json.source} (${field})`, showValue(v));
      tokens[field] = v;
      if (field !== 'total') tokenFields |= TOKEN_BITS[field];
    }
  }
  const profile = detectProfile(a, span.scopeName, span.scopeVersion);
  const role = roleOf(a, span.name, tokenFields !== 0 || tokens.total > 0, span.scopeName);
  // Strands' invoke_agent repeats its run's calls (accumulated_usage): not usage of its own, as Pydantic AI's run
  // totals, so no arrival order (its calls linked to it only through event-loop spans) can count it.
  const runTotals = profile.family === 'strands' && role === 'container';
  if (runTotals) [tokens.input, tokens.output, tokens.total, tokens.cacheRead, tokens.cacheWrite, tokens.reasoning, tokenFields] = [0, 0, 0, 0, 0, 0, 0];
  const model = asString(lookup(a, EMPTY, MODEL_ATTRS));
  const provider = normalizeProvider(providerOf(a, span, profile.family, model));
  if (tokens.input === 0 && tokens.output === 0 && tokens.total > 0) {
    tokens.input = tokens.total;
    tokenFields |= TOKEN_BITS.input;
  }
  // Semconv input includes cache. A profile that passes a provider's raw uncached count gets cache added back; so does
  // any span whose input is smaller than its cache counts, which no input-with-cache count can be.
  const cache = tokens.cacheRead + tokens.cacheWrite;
  if (cache > 0 && (tokens.input < cache || inputExcludesCache(profile, provider))) tokens.input += cache;

  let spanCost: number | null = null;
  const cost = firstNumber(a, COST_ATTRS) ?? langfuseCostOf(a);
  if (cost) {
    if (!Number.isFinite(cost.value) || cost.value < 0 || cost.value > MAX_COST_USD) {
      return { kind: 'rejected', reason: `span ${span.spanId}: ${cost.name} must be a finite amount >= 0, got ${showValue(a[cost.name])}`, code: 'invalid_cost' };
    }
    const currency = asString(a['gen_ai.usage.cost.currency']).toUpperCase();
    const unknown = cost.value === 0 && profile.zeroCostIsUnknown;
    if ((currency === '' || currency === 'USD') && !unknown) spanCost = cost.value;
  }
  const unrecognized = keys.metered && !runTotals && tokenFields === 0 && tokens.total === 0 && !cost ? unrecognizedUsage(a) : undefined;

  const time = Number(span.endTimeUnixNano / 1_000_000n);
  const startTime = Number(span.startTimeUnixNano / 1_000_000n);
  if (time < now - config.maxAgeMs) return { kind: 'rejected', reason: `span ${span.spanId}: ended ${new Date(time).toISOString()}, older than ingest.max_age`, code: 'too_old' };
  if (time > now + config.maxFutureMs) return { kind: 'rejected', reason: `span ${span.spanId}: ends ${new Date(time).toISOString()}, in the future`, code: 'in_future' };

  const identity = resolveSpanIdentity(a, span.resource, config.identity);
  // A root span has no ancestor to inherit from: reject now. Others wait for the deduper's inheritance.
  if (identity.missingRequired && !span.parentSpanId) return { kind: 'rejected', reason: `span ${span.spanId}: ${missingIdentityError(identity.missingRequired, config.identity)}`, code: 'identity_missing' };

  const operation = op || operationOf(a);
  let computeSeconds = 0;
  const explicitCompute = asNumber(a['tollkeeper.compute.seconds']);
  if (explicitCompute !== undefined) {
    if (!Number.isFinite(explicitCompute) || explicitCompute < 0 || explicitCompute > 86_400 * 366) {
      return { kind: 'rejected', reason: `span ${span.spanId}: tollkeeper.compute.seconds must be a finite number >= 0`, code: 'invalid_compute' };
    }
    computeSeconds = explicitCompute;
  } else if (operation && config.computeOperations.includes(operation)) {
    computeSeconds = Math.max(0, time - startTime) / 1000;
  }

  const toolName =
    role === 'tool' ? asString(a['gen_ai.tool.name']) || asString(a['ai.toolCall.name']) || asString(a['tool.name']) || asString(a['traceloop.entity.name']) || span.name.slice(0, 256) : '';
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
      family: profile.family,
      provider,
      model,
      operation,
      spanName: span.name.slice(0, 256),
      inputTokens: tokens.input,
      outputTokens: tokens.output,
      cacheReadTokens: Math.min(tokens.cacheRead, tokens.input),
      cacheWriteTokens: Math.min(tokens.cacheWrite, tokens.input - Math.min(tokens.cacheRead, tokens.input)),
      reasoningTokens: Math.min(tokens.reasoning, tokens.output),
      requests: role === 'inference' ? (span.requests ?? 1) : 0,
      toolCalls: role === 'tool' ? 1 : 0,
      toolName,
      computeSeconds,
      role,
      spanCost,
      responseId: asString(a['gen_ai.response.id']) || asString(a['ai.response.id']),
      meta: { tokenFields, weakIdentity: identity.weak, missingRequired: identity.missingRequired, scope: span.scopeName, unrecognized },
    },
  };
}
