import type { Logger } from 'pino';
import type { PriceInput, PriceResult } from '../core/pricing/types.ts';
import { createCallDeduper, type CountedRow } from '../core/usage/call-dedupe.ts';
import { missingIdentityError, type InheritableIdentity } from '../core/usage/identity.ts';
import { mapSpan, type MappingConfig, type Unpriced } from '../core/usage/map-span.ts';
import type { CostSource, DecodedSpan, UsageEvent } from '../core/usage/types.ts';
import { scopeMessage, scopeVerdict, type ScopeReason } from '../core/ingest/scope.ts';
import type { IngestToken } from '../core/ingest/tokens.ts';
import type { BatchWriter } from './batch-writer.ts';
import type { WriteOutcome } from './write-outcome.ts';
import { overlongIdentity } from './identity-limit.ts';
import { eventIdProblem } from './event-ids.ts';
import { MAX_LABELS, MAX_SENDER_LABELS, OTHER_LABEL, bump, labelText } from './capped-counts.ts';
import type { RejectedSpans } from './otlp/decode-common.ts';

export interface IngestResult {
  rejected: number;
  firstError: string;
  outcome: WriteOutcome;
  /** Span ids of the spans rejected after decoding (absent when none was). */
  rejectedIds?: ReadonlySet<string>;
}

export interface IngestCounters {
  spansReceived: number;
  spansIgnored: number;
  spansRejected: number;
  /** Rejected spans per reason (`invalid_tokens`, `too_old`, `identity_missing`, …). */
  rejectedByReason: Record<string, number>;
  spansSuperseded: number;
  /** Pairs of spans judged one call whose counts differ slightly or whose models differ (the innermost span's were kept). */
  callDiscrepancies: number;
  /** Pairs of spans with a hint of being one call (nesting, a shared response id) whose evidence disagrees: both counted. */
  callCollisions: number;
  /** Calls whose stored usage later spans showed to be too high (an aggregate that arrived before its parts): kept. */
  callLateEvidence: number;
  /** Spans whose usage-prefixed attributes gave no known count, per attribute name (the first 1000, then `(other)`). */
  unrecognizedUsage: Record<string, number>;
  /** Events that took ids from an ancestor span. */
  identityInherited: number;
  /** Inference calls whose instrumentation recorded no token counts (stored as unpriced requests), by family. */
  callsWithoutCounts: Record<string, number>;
  eventsAccepted: number;
  /** Unpriced events per `provider/model`: the first 100 names, later ones under `(other)`. */
  unpricedByModel: Record<string, number>;
  /** Spans received per ingest token name (requests without a token, while ingest needs none, are not counted here). */
  spansByToken: Record<string, number>;
  /** Rejected spans per ingest token name, then reason (the reasons of `rejectedByReason`, `out_of_scope_*` among them). */
  rejectedByToken: Record<string, Record<string, number>>;
  /** OTLP requests refused for their token, per reason (`missing`, `unknown`, `revoked`). */
  unauthorized: Record<string, number>;
  /** OTLP requests refused before their body was read, per reason (`memory`: the process over its memory limit). */
  requestsRefused: Record<string, number>;
}

export interface IngestDeps {
  mapping: MappingConfig;
  pricer: { price(input: PriceInput): PriceResult };
  writer: Pick<BatchWriter, 'submit'>;
  logger: Logger;
  now: () => number;
}

/** The stored event of a call. Fields are listed, not spread: spreading a 30-field object is a hot-path cost. */
function priced(e: Unpriced, costUsd: number, costSource: CostSource, priceVersion: string): UsageEvent {
  return {
    eventId: e.eventId,
    traceId: e.traceId,
    spanId: e.spanId,
    parentSpanId: e.parentSpanId,
    time: e.time,
    startTime: e.startTime,
    service: e.service,
    apiKey: e.apiKey,
    user: e.user,
    tenant: e.tenant,
    agent: e.agent,
    conversation: e.conversation,
    attributes: e.attributes,
    family: e.family,
    provider: e.provider,
    model: e.model,
    operation: e.operation,
    spanName: e.spanName,
    inputTokens: e.inputTokens,
    outputTokens: e.outputTokens,
    cacheReadTokens: e.cacheReadTokens,
    cacheWriteTokens: e.cacheWriteTokens,
    reasoningTokens: e.reasoningTokens,
    requests: e.requests,
    toolCalls: e.toolCalls,
    toolName: e.toolName,
    computeSeconds: e.computeSeconds,
    costUsd,
    spanCost: e.spanCost,
    costSource,
    priceVersion,
  };
}

export { bump } from './capped-counts.ts';

/** Every counter of a collector at zero (as it starts). */
export function emptyCounters(): IngestCounters {
  return {
    spansReceived: 0,
    spansIgnored: 0,
    spansRejected: 0,
    rejectedByReason: {},
    spansSuperseded: 0,
    callDiscrepancies: 0,
    callCollisions: 0,
    callLateEvidence: 0,
    unrecognizedUsage: {},
    identityInherited: 0,
    callsWithoutCounts: {},
    eventsAccepted: 0,
    unpricedByModel: {},
    spansByToken: {},
    rejectedByToken: {},
    unauthorized: {},
    requestsRefused: {},
  };
}

/** Decoded spans → usage events (mapped, one per call, priced) → durable write. */
export function createIngest(deps: IngestDeps) {
  const deduper = createCallDeduper();
  const counters = emptyCounters();

  /** A call whose span had no counts and no cost has an unknown price, not $0 (docs/concepts/pricing.md): it counts as an unpriced request. */
  function unknownUsage(e: Unpriced): UsageEvent {
    // A span whose usage names are all unknown was counted under those names at intake: its vocabulary is missing.
    if (!e.meta.unrecognized) {
      const seen = counters.callsWithoutCounts[e.family] ?? 0;
      if (seen === 0) deps.logger.warn({ family: e.family, provider: e.provider, model: e.model }, 'instrumentation recorded no token counts for a call: stored as an unpriced request');
      counters.callsWithoutCounts[e.family] = seen + 1;
    }
    return priced(e, 0, 'unpriced', '');
  }

  function noteUnrecognized(e: Unpriced): void {
    for (const name of e.meta.unrecognized ?? []) {
      const counted = bump(counters.unrecognizedUsage, name);
      if (counted === 'new') deps.logger.warn({ attribute: name, family: e.family }, 'usage attribute with no known meaning: the span is stored without its counts');
      else if (counted === 'first_overflow') deps.logger.warn({ names: MAX_LABELS }, `more than ${MAX_LABELS} usage attribute names with no known meaning: later names are counted under "${OTHER_LABEL}" and no longer logged one by one`);
    }
  }

  /** Counts an unpriced event under its model; the first names are logged once each, the rest only counted. */
  function noteUnpriced(e: Unpriced): void {
    const counted = bump(counters.unpricedByModel, labelText(`${e.provider || '?'}/${e.model || '?'}`), 1, MAX_SENDER_LABELS);
    if (counted === 'new') deps.logger.warn({ provider: labelText(e.provider), model: labelText(e.model) }, 'cannot price model: its events are stored as unpriced (set pricing.overrides or pricing.fallback)');
    else if (counted === 'first_overflow') deps.logger.warn({ models: MAX_SENDER_LABELS }, `more than ${MAX_SENDER_LABELS} unpriced model names: later names are counted under "${OTHER_LABEL}" and no longer logged one by one (GET /api/usage/unpriced lists them all)`);
  }

  const priceInput = (e: Unpriced): PriceInput => ({
    provider: e.provider,
    model: e.model,
    time: e.time,
    inputTokens: e.inputTokens,
    outputTokens: e.outputTokens,
    cacheReadTokens: e.cacheReadTokens,
    cacheWriteTokens: e.cacheWriteTokens,
    reasoningTokens: e.reasoningTokens,
    spanCost: e.spanCost,
  });
  const callCost = (e: Unpriced): number => (e.meta.tokenFields === 0 && e.spanCost === null ? 0 : deps.pricer.price(priceInput(e)).costUsd);

  /**
   * A call's first row stores the call as it is. A later row (or one drawing on an aggregate stored before it) stores
   * the counts its spans added; its cost is the call's cost now minus what earlier rows of it or above it stored.
   */
  function priceRow(row: CountedRow): UsageEvent {
    if (row.event === row.value) return price(row.event);
    const known = row.value.meta.tokenFields !== 0 || row.value.spanCost !== null;
    const now = deps.pricer.price(priceInput(row.value));
    const source = !known ? 'unpriced' : now.costSource;
    // The call's cost now, priced once (callCost would price the same input again).
    let cost = known ? now.costUsd : 0;
    for (const b of row.before) cost -= callCost(b);
    return priced(row.event, cost, source, known ? now.priceVersion : '');
  }

  function price(e: Unpriced): UsageEvent {
    if (e.requests > 0 && e.meta.tokenFields === 0 && e.spanCost === null) return unknownUsage(e);
    const p = deps.pricer.price(priceInput(e));
    const usage = e.inputTokens + e.outputTokens;
    // Tool and compute spans without tokens have nothing to price: that is not "unpriced usage".
    const costSource = p.costSource === 'unpriced' && usage === 0 ? 'span' : p.costSource;
    if (costSource === 'unpriced') noteUnpriced(e);
    return priced(e, p.costUsd, costSource, p.priceVersion);
  }

  /** Maps, dedupes and prices one request's spans into the events to store, counting what it rejects. */
  function prepare(spans: readonly DecodedSpan[], decoderRejected: RejectedSpans | undefined, token: IngestToken | null | undefined): { events: UsageEvent[]; rejected: number; firstError: string; rejectedIds: Set<string> | undefined } {
    const received = spans.length + (decoderRejected?.spans ?? 0);
    counters.spansReceived += received;
    const perToken = token ? (counters.rejectedByToken[token.name] ??= {}) : undefined;
    if (token) bump(counters.spansByToken, token.name, received);
    const reject = (code: string, by = 1) => {
      bump(counters.rejectedByReason, code, by);
      if (perToken) bump(perToken, code, by);
    };
    const now = deps.now();
    let rejected = decoderRejected?.spans ?? 0;
    let firstError = decoderRejected?.message ?? '';
    // Only allocated when a span is rejected: the metrics ingest needs to know which (its series state must not move).
    let rejectedIds: Set<string> | undefined;
    const refuse = (spanId: string, code: string, message: string) => {
      rejected++;
      (rejectedIds ??= new Set()).add(spanId);
      firstError ||= message;
      reject(code);
    };
    if (decoderRejected?.spans) reject('span_limits', decoderRejected.spans);
    const candidates: Unpriced[] = [];
    let spanIds: Map<string, InheritableIdentity> | undefined;
    // Events by id, built once a request has a second event: a repeated id must not replace an earlier call.
    let byId: Map<string, Unpriced> | undefined;
    for (const span of spans) {
      const r = mapSpan(span, deps.mapping, now);
      if (r.kind === 'event') {
        const invalid = eventIdProblem(span, r.event, (byId ??= candidates.length > 0 ? new Map(candidates.map((c) => [c.eventId, c])) : undefined));
        if (invalid === 'repeat') continue;
        if (invalid !== null) {
          refuse(span.spanId, invalid.code, invalid.message);
          continue;
        }
        byId?.set(r.event.eventId, r.event);
        candidates.push(r.event);
        if (r.event.meta.unrecognized) noteUnrecognized(r.event);
      }
      else if (r.kind === 'ignored') {
        counters.spansIgnored++;
        if (r.identity) (spanIds ??= new Map()).set(span.traceId + span.spanId, r.identity);
      } else refuse(span.spanId, r.code ?? 'other', r.reason);
    }
    const scope = token?.compiled;
    const selected = deduper.select(candidates, spans, spanIds, scope ? (e) => scopeVerdict(scope, e) : undefined);
    for (const { event, kinds } of selected.rejected) {
      refuse(event.spanId, 'identity_missing', `span ${event.spanId}: ${missingIdentityError(kinds, deps.mapping.identity, 'the span, its resource or its ancestors')}`);
    }
    // Only a scoped token's check refuses events, so token and scope are set there.
    for (const { event, reason } of selected.refused) refuse(event.spanId, reason, token && scope ? scopeMessage(event.spanId, token.name, reason as ScopeReason, event, scope) : '');
    counters.spansSuperseded += selected.superseded;
    counters.callDiscrepancies += selected.discrepancies;
    counters.callCollisions += selected.collisions;
    counters.callLateEvidence += selected.lateEvidence;
    counters.identityInherited += selected.inherited;
    let bySpan: Map<string, DecodedSpan> | undefined;
    const spanOf = (e: Unpriced) => (bySpan ??= new Map(spans.map((sp) => [sp.traceId + sp.spanId, sp]))).get(e.traceId + e.spanId);
    const events: UsageEvent[] = [];
    for (const row of selected.counted) {
      const e = row.event;
      const tooLong = overlongIdentity(e, () => spanOf(e), spans, deps.mapping.identity.secretAttributes);
      if (tooLong === null) events.push(priceRow(row));
      else refuse(e.spanId, 'identity_too_long', tooLong);
    }
    counters.spansRejected += rejected;
    return { events, rejected, firstError, rejectedIds };
  }

  return {
    counters,
    /**
     * `decoderRejected`: spans the decoder left out for breaking a per-span bound (reported with the others).
     * `token`: the ingest token the request came with; a scoped token's spans outside its scope are rejected, judged on
     * their final ids (after inheritance from ancestors) and before they take part in one-call dedupe or pricing.
     *
     * Not an async function, on purpose: V8 keeps an async function's parameters and locals alive across its awaits,
     * so the request's decoded spans and events would stay in memory (and be promoted to the old generation) for as
     * long as the store takes. Once this returns, only the encoded rows in the writer's bounded queue remain.
     */
    ingest(spans: readonly DecodedSpan[], decoderRejected?: RejectedSpans, token?: IngestToken | null): Promise<IngestResult> {
      const { events, rejected, firstError, rejectedIds } = prepare(spans, decoderRejected, token);
      const accepted = events.length;
      return deps.writer.submit(events).then((outcome) => {
        if (outcome.ok) counters.eventsAccepted += accepted;
        return rejectedIds ? { rejected, firstError, outcome, rejectedIds } : { rejected, firstError, outcome };
      });
    },
    /** Why one span would be rejected on its own (counts, cost, times, a required identity), or null. Counts nothing. */
    check(span: DecodedSpan): string | null {
      const r = mapSpan(span, deps.mapping, deps.now());
      return r.kind === 'rejected' ? r.reason : null;
    },
  };
}
export type Ingest = ReturnType<typeof createIngest>;
