import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { IngestToken } from '../core/ingest/tokens.ts';
import { cumulativeToDelta, type SeriesState } from '../core/usage/metric-delta.ts';
import { tokenDeltaToSpan, type TokenDelta } from '../core/usage/metric-span.ts';
import type { Attributes, DecodedSpan } from '../core/usage/types.ts';
import type { MetricSeriesRepo } from '../store/metric-series-repo.ts';
import type { Ingest, IngestResult } from './ingest.ts';
import { TEMPORALITY, describePoint, type RejectedPoints, type TokenPoint } from './otlp/decode-metrics.ts';

/** How long a service that sent GenAI spans has its token metrics skipped (docs/otlp-metrics.md). */
export const SPAN_SERVICE_WINDOW_MS = 24 * 3_600_000;

export interface MetricsCounters {
  /** Histogram points of gen_ai.client.token.usage received. */
  pointsReceived: number;
  /** Points of other metrics (not metered). */
  pointsOtherMetrics: number;
  /** Points skipped because their service sends GenAI spans, which are counted instead. */
  pointsSkippedForSpans: number;
  /** Cumulative points already counted (a repeated or older export). */
  pointsRepeated: number;
  /** Cumulative series that restarted (new start time or a value that dropped). */
  seriesResets: number;
  /** Points skipped per reason (`unknown_token_type`, `empty`, `unspecified_temporality`, `invalid_value`). */
  skippedByReason: Record<string, number>;
}

export interface MetricsIngestDeps {
  ingest: Pick<Ingest, 'ingest' | 'check'>;
  series: MetricSeriesRepo;
  logger: Logger;
  now: () => number;
  /**
   * Other processes may advance the same series (collectors behind a load balancer on one ClickHouse server): the
   * state is read from the store for every cumulative point, and the newer of it and this process's own is used.
   */
  sharedSeries?: boolean;
}

const stable = (a: Attributes): string => JSON.stringify(Object.keys(a).sort().map((k) => [k, a[k]]), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));

/** The series a point belongs to: resource + scope + metric + attribute set + start time. */
export function seriesKey(p: TokenPoint): string {
  return createHash('sha256').update(`${stable(p.resource)}\n${p.scopeName}\n${p.scopeVersion}\n${p.metric}\n${stable(p.attributes)}\n${p.startNano}`).digest('hex');
}

const serviceOf = (resource: Attributes): string => (typeof resource['service.name'] === 'string' ? resource['service.name'] : 'unknown_service');

/** Token-usage histogram points → usage events through the span ingest (identity, scope, pricing, exactly-once store). */
export function createMetricsIngest(deps: MetricsIngestDeps) {
  const counters: MetricsCounters = { pointsReceived: 0, pointsOtherMetrics: 0, pointsSkippedForSpans: 0, pointsRepeated: 0, seriesResets: 0, skippedByReason: {} };
  const cache = new Map<string, SeriesState>();
  const spanServices = new Map<string, number>();
  let lastResource: Attributes | undefined;
  const skip = (reason: string) => (counters.skippedByReason[reason] = (counters.skippedByReason[reason] ?? 0) + 1);

  return {
    counters,
    /** Told of every decoded span batch: a service seen with GenAI spans is metered from its spans, not its metrics. */
    noteSpans(spans: readonly DecodedSpan[]): void {
      const now = deps.now();
      for (const s of spans) {
        // Spans of one resource share its attributes object: look the service up once per resource.
        if (s.resource === lastResource) continue;
        if (!Object.keys(s.attributes).some((k) => k.startsWith('gen_ai.'))) continue;
        lastResource = s.resource;
        spanServices.set(serviceOf(s.resource), now);
      }
      if (spanServices.size > 10_000) for (const [k, t] of spanServices) if (t < now - SPAN_SERVICE_WINDOW_MS) spanServices.delete(k);
    },

    /** `rejected`: points the decoder left out for a value it could not use (reported with the others). */
    async ingest(points: readonly TokenPoint[], otherPoints: number, token?: IngestToken | null, rejected?: RejectedPoints): Promise<IngestResult> {
      counters.pointsReceived += points.length + (rejected?.points ?? 0);
      if (rejected?.points) counters.skippedByReason.invalid_value = (counters.skippedByReason.invalid_value ?? 0) + rejected.points;
      counters.pointsOtherMetrics += otherPoints;
      const now = deps.now();
      const live = points.filter((p) => {
        const seen = spanServices.get(serviceOf(p.resource));
        if (seen !== undefined && seen >= now - SPAN_SERVICE_WINDOW_MS) {
          counters.pointsSkippedForSpans++;
          return false;
        }
        if (p.temporality !== TEMPORALITY.delta && p.temporality !== TEMPORALITY.cumulative) {
          skip('unspecified_temporality');
          return false;
        }
        return true;
      });
      const keys = live.map(seriesKey);
      const wanted = [...new Set(keys.filter((k, i) => live[i]!.temporality === TEMPORALITY.cumulative && (deps.sharedSeries === true || !cache.has(k))))];
      if (wanted.length > 0) {
        for (const [k, s] of await deps.series.load(wanted)) {
          // This process may be ahead of the store (its last save failed), or behind it (another collector counted).
          const own = cache.get(k);
          if (!own || s.timeNano > own.timeNano) cache.set(k, s);
        }
      }

      const spans: DecodedSpan[] = [];
      // Span id → its point, to name a point the span ingest rejects as the data point it is.
      const pointOf = new Map<string, TokenPoint>();
      // Where each cumulative series stands while the request's points are read in order: a point the span ingest
      // would reject leaves it where it was, so the next good point counts from the last accepted one.
      const changed = new Map<string, SeriesState>();
      // Per series, the states its points lead to, with their span (none: nothing to count, the series moves on).
      const moves = new Map<string, { spanId?: string; next: SeriesState }[]>();
      const moved = (key: string, next: SeriesState, spanId?: string) => {
        changed.set(key, next);
        const list = moves.get(key) ?? [];
        if (list.length === 0) moves.set(key, list);
        list.push(spanId === undefined ? { next } : { spanId, next });
      };
      live.forEach((p, i) => {
        const key = keys[i]!;
        let d: TokenDelta = p;
        let next: SeriesState | undefined;
        let reset = false;
        if (p.temporality === TEMPORALITY.cumulative) {
          const prev = changed.get(key) ?? cache.get(key);
          const r = cumulativeToDelta(prev, p);
          if (r.kind === 'seen') {
            counters.pointsRepeated++;
            return;
          }
          ({ next, reset } = r);
          // The delta covers the time since the last counted point (or since the series' start).
          d = { ...p, sum: r.sum, count: r.count, startNano: prev && !r.reset ? prev.timeNano : p.startNano };
        }
        const id = createHash('sha256').update(`${key}\n${p.timeNano}`).digest('hex');
        const mapped = tokenDeltaToSpan(d, id.slice(0, 32), id.slice(32, 48));
        if (mapped.kind === 'span') {
          spans.push(mapped.span);
          pointOf.set(mapped.span.spanId, p);
          // Rejected on its own (a count out of range, a time out of bounds, a missing identity): the ingest below
          // rejects and reports it; the series stays where it was.
          if (next && deps.ingest.check(mapped.span) === null) {
            if (reset) counters.seriesResets++;
            moved(key, next, mapped.span.spanId);
          }
        } else {
          skip(mapped.reason);
          if (next) moved(key, next);
        }
      });
      const result = namePoints(await deps.ingest.ingest(spans, undefined, token), pointOf, rejected);
      // The events first, then the series state: after a crash in between, the re-export maps to the same event ids.
      if (result.outcome.ok && moves.size > 0) {
        const saved = acceptedStates(moves, result.rejectedIds);
        if (cache.size > 200_000) cache.clear();
        // The events are stored: this process goes on from the new state even if saving it fails.
        for (const [k, s] of saved) cache.set(k, s);
        try {
          if (saved.size > 0) await deps.series.save(saved, now);
        } catch (err) {
          deps.logger.warn({ err }, 'cannot store metric series state: after a restart these series are compared with an older state');
        }
      }
      return result;
    },
  };
}
export type MetricsIngest = ReturnType<typeof createMetricsIngest>;

/**
 * Each series' state after the last of its points the span ingest stored. Rejections found only there (an ingest
 * token's scope, an identity value too long) depend on the series' attributes and resource, which all its points
 * share, so they reject a series' points alike and no stored delta was taken against a rejected point.
 */
function acceptedStates(moves: ReadonlyMap<string, readonly { spanId?: string; next: SeriesState }[]>, rejectedIds: ReadonlySet<string> | undefined): Map<string, SeriesState> {
  const states = new Map<string, SeriesState>();
  for (const [key, list] of moves) {
    for (const m of list) if (m.spanId === undefined || !rejectedIds?.has(m.spanId)) states.set(key, m.next);
  }
  return states;
}

const SPAN_PREFIX = /^span ([0-9a-f]{16}): /;

/**
 * The span ingest's answer in the sender's terms: its rejections say `span <id>: …` of spans the sender never sent,
 * so the id is replaced by the data point it came from (path, metric and attributes). The decoder's rejections come
 * first, as they come first in the request's processing.
 */
function namePoints(result: IngestResult, pointOf: ReadonlyMap<string, TokenPoint>, decoded: RejectedPoints | undefined): IngestResult {
  const m = SPAN_PREFIX.exec(result.firstError);
  const p = m ? pointOf.get(m[1]!) : undefined;
  // A missing identity is looked for "on the span or its resource": on a point, its attributes are where it is looked for.
  const own = p ? `${describePoint(p)}: ${result.firstError.slice(m![0].length).replace(' on the span or its resource ', ' on the data point or its resource ')}` : result.firstError;
  return { ...result, rejected: result.rejected + (decoded?.points ?? 0), firstError: decoded?.message || own };
}
