import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BatchWriter } from '../collector/batch-writer.ts';
import type { BodyBudget } from '../collector/body-budget.ts';
import { MAX_SENDER_LABELS, OTHER_LABEL } from '../collector/capped-counts.ts';
import type { MemoryLimiter } from '../collector/memory-limiter.ts';
import type { IngestCounters } from '../collector/ingest.ts';
import type { MetricsCounters } from '../collector/metrics-ingest.ts';
import { decisionOutcome } from '../core/enforcement/decide.ts';
import type { Outbox } from '../detector/alerts/outbox.ts';
import type { Enforcement } from '../detector/enforcement.ts';
import type { ForwardAuth } from '../detector/forward-auth.ts';
import { detectionFigures, type TickReport, type TickStatsRecorder } from '../detector/tick-stats.ts';

/** Prefix of every metric of the product's own (the process metrics keep their standard names). */
const P = 'tollkeeper_';

type Labels = Record<string, string>;

/**
 * A counter or gauge whose value lives elsewhere (the collector's counters, the writer's stats): read at scrape
 * time, so a scrape costs no store query and the hot path keeps its plain `+= 1`.
 */
function live(kind: 'counter' | 'gauge', registry: Registry, name: string, help: string, labelNames: string[], read: () => Iterable<[Labels, number]>): void {
  const o = { name: P + name, help, labelNames, registers: [registry] };
  if (kind === 'counter') {
    new Counter({ ...o, collect() { this.reset(); for (const [labels, value] of read()) if (value > 0) this.inc(labels, value); } });
  } else {
    new Gauge({ ...o, collect() { this.reset(); for (const [labels, value] of read()) this.set(labels, value); } });
  }
}
const liveCounter = (...a: Parameters<typeof live> extends [unknown, ...infer R] ? R : never) => live('counter', ...a);
const liveGauge = (...a: Parameters<typeof live> extends [unknown, ...infer R] ? R : never) => live('gauge', ...a);

const one = (value: number): [Labels, number][] => [[{}, value]];
const byLabel = (label: string, values: Record<string, number>): [Labels, number][] => Object.entries(values).map(([k, v]) => [{ [label]: k }, v]);

// Most label values of one family that come from senders' text (model names): the collector holds as many.
export { MAX_SENDER_LABELS, OTHER_LABEL };

/**
 * Like `byLabel` for values a sender chooses: the first `MAX_SENDER_LABELS` seen keep their own series, every later
 * one adds to `(other)`. A sender inventing a model name per span would otherwise add a series per name to every
 * scrape. The first ones seen stay the same, so each series only grows, as a counter must.
 */
const byCappedLabel = (label: string, values: Record<string, number>): [Labels, number][] => {
  const entries = Object.entries(values);
  if (entries.length <= MAX_SENDER_LABELS) return byLabel(label, values);
  const rest = entries.slice(MAX_SENDER_LABELS).reduce((sum, [, v]) => sum + v, 0);
  return [...entries.slice(0, MAX_SENDER_LABELS).map(([k, v]): [Labels, number] => [{ [label]: k }, v]), [{ [label]: OTHER_LABEL }, rest]];
};

/**
 * The Prometheus registry of one process. Each role registers what it has (a collector: ingest, spool and
 * writer; a detector: ticks, findings, outbox, revocation list, gateway answers), so a split deployment's
 * processes each expose their own part. Names and meanings: docs/metrics.md.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  let ticks: Histogram | undefined;
  let findings: Counter | undefined;
  let authorize: Counter | undefined;
  let polls: Counter | undefined;
  let otlpAnswers: Counter | undefined;
  let gatewayRestarts: Counter | undefined;
  let gatewayNice: Gauge | undefined;

  return {
    registry,

    /** Ingest counters, the writer's queue and lag, the spool. */
    watchCollector(c: { counters: IngestCounters; writer: Pick<BatchWriter, 'stats'>; bodyBudget?: Pick<BodyBudget, 'held' | 'refused'>; memoryLimiter?: Pick<MemoryLimiter, 'over'> }): void {
      const n = c.counters;
      liveCounter(registry, 'ingest_spans_received_total', 'Spans received in OTLP requests that were decoded', [], () => one(n.spansReceived));
      liveCounter(registry, 'ingest_spans_ignored_total', 'Spans received that carry no usage (not GenAI, not metered)', [], () => one(n.spansIgnored));
      liveCounter(registry, 'ingest_spans_rejected_total', 'Spans rejected through partialSuccess, by reason', ['reason'], () => byLabel('reason', n.rejectedByReason));
      liveCounter(registry, 'ingest_token_spans_received_total', 'Spans received per ingest token', ['token'], () => byLabel('token', n.spansByToken));
      liveCounter(registry, 'ingest_token_spans_rejected_total', 'Spans of an ingest token rejected through partialSuccess, by token and reason (out_of_scope_* among them)', ['token', 'reason'], () =>
        Object.entries(n.rejectedByToken).flatMap(([token, reasons]) => Object.entries(reasons).map(([reason, v]): [Labels, number] => [{ token, reason }, v])),
      );
      liveCounter(registry, 'ingest_unauthorized_total', 'OTLP requests refused with 401 for their ingest token, by reason (missing, unknown, revoked)', ['reason'], () => byLabel('reason', n.unauthorized));
      liveCounter(registry, 'ingest_requests_refused_total', 'OTLP requests refused with 429 before their body was read, by reason (memory: resident memory over the soft limit of ingest.memory_limit_mib)', ['reason'], () => byLabel('reason', n.requestsRefused));
      const limiter = c.memoryLimiter;
      if (limiter) liveGauge(registry, 'ingest_memory_limited', '1 while the collector refuses new requests because its resident memory is over the soft limit, else 0', [], () => one(limiter.over ? 1 : 0));
      liveCounter(registry, 'ingest_events_accepted_total', 'Usage events handed to the writer (acknowledged once stored or spooled)', [], () => one(n.eventsAccepted));
      liveCounter(registry, 'ingest_events_stored_total', 'Usage events newly written to ClickHouse (duplicates excluded)', [], () => one(c.writer.stats().stored));
      liveCounter(registry, 'ingest_events_duplicate_total', 'Usage events dropped because their id was already stored (retries)', [], () => one(c.writer.stats().duplicates));
      liveCounter(registry, 'ingest_unpriced_events_total', 'Usage events no price applied to, by model', ['model'], () => byCappedLabel('model', n.unpricedByModel));
      liveCounter(registry, 'ingest_call_collisions_total', 'Spans hinting at one call whose evidence disagreed (both counted)', [], () => one(n.callCollisions));
      liveCounter(registry, 'spool_batches_spooled_total', 'Batches written to the on-disk spool because the store failed', [], () => one(c.writer.stats().spooledBatches));
      liveGauge(registry, 'spool_batches', 'Batches waiting in the on-disk spool for the store', [], () => one(c.writer.stats().spoolFiles));
      liveGauge(registry, 'spool_bytes', 'Bytes waiting in the on-disk spool', [], () => one(c.writer.stats().spoolBytes));
      liveCounter(registry, 'dead_events_total', 'Events the store refused for good, set aside in spool/dead', [], () => one(c.writer.stats().deadEvents));
      liveGauge(registry, 'writer_queue_events', 'Events in memory waiting for the store (requests get 429 past the bound)', [], () => one(c.writer.stats().queued));
      liveGauge(registry, 'writer_queue_bytes', 'Bytes of encoded events in memory waiting for the store (bounded by ingest.max_queue_mib)', [], () => one(c.writer.stats().queuedBytes));
      const budget = c.bodyBudget;
      if (budget) {
        liveGauge(registry, 'ingest_body_bytes', 'Bytes of OTLP request bodies held at once: being read, decoded or waiting for the store until answered (bounded by ingest.max_inflight_mib)', [], () => one(budget.held));
        liveCounter(registry, 'ingest_body_budget_refusals_total', 'OTLP requests answered 429 while their body arrived, because it would have passed ingest.max_inflight_mib', [], () => one(budget.refused));
      }
      liveGauge(registry, 'writer_lag_seconds', 'How long the oldest request waiting for the store has waited', [], () => one(c.writer.stats().lagMs / 1000));
      otlpAnswers = new Counter({ name: P + 'ingest_requests_total', help: 'OTLP trace requests answered, by HTTP status (429/503: refused under load)', labelNames: ['code'], registers: [registry] });
    },

    /** Token usage metrics ingest (POST /v1/metrics): points received, and points skipped by reason. */
    watchMetricsIngest(counters: MetricsCounters): void {
      liveCounter(registry, 'ingest_metric_points_received_total', 'Token usage histogram points received (gen_ai.client.token.usage)', [], () => one(counters.pointsReceived));
      liveCounter(registry, 'ingest_metric_points_skipped_total', 'Token usage points not counted, by reason (service_sends_spans: its spans are counted instead)', ['reason'], () => [
        [{ reason: 'service_sends_spans' }, counters.pointsSkippedForSpans],
        [{ reason: 'repeated' }, counters.pointsRepeated],
        ...byLabel('reason', counters.skippedByReason),
      ]);
    },

    /** Counts one answer of POST /v1/traces. */
    otlpAnswered(status: number): void {
      otlpAnswers?.inc({ code: String(status) });
    },

    /** The revocation list, gateway answers, the alert outbox. */
    watchDetector(d: { enforcement: Pick<Enforcement, 'snapshot' | 'version'>; outbox: Pick<Outbox, 'stats'> }): void {
      liveGauge(registry, 'revocation_list_version', 'Version of the revocation list (moves on every change)', [], () => one(d.enforcement.version));
      liveGauge(registry, 'revocation_list_entries', 'Entities on the revocation list, by action', ['action'], () => {
        const counts: Record<string, number> = { revoke: 0, throttle: 0 };
        for (const e of d.enforcement.snapshot().entries) counts[e.action] = (counts[e.action] ?? 0) + 1;
        return byLabel('action', counts);
      });
      liveGauge(registry, 'outbox_backlog', 'Alert deliveries not yet delivered (pending or waiting for a retry), by channel', ['channel'], () => byLabel('channel', d.outbox.stats().openByChannel));
      liveCounter(registry, 'outbox_delivery_failures_total', 'Failed alert delivery attempts, by channel', ['channel'], () => byLabel('channel', d.outbox.stats().failuresByChannel));
      liveCounter(registry, 'outbox_dead_total', 'Alert deliveries given up (retries exhausted or the receiver refused for good), by channel', ['channel'], () => byLabel('channel', d.outbox.stats().deadByChannel));
      liveCounter(registry, 'outbox_delivered_total', 'Alert deliveries that reached their receiver, by channel', ['channel'], () => byLabel('channel', d.outbox.stats().deliveredByChannel));
      ticks = new Histogram({ name: P + 'detector_tick_seconds', help: 'Duration of a detector tick', buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] });
      findings = new Counter({ name: P + 'detector_findings_total', help: 'Anomaly findings per tick, by pattern and severity', labelNames: ['pattern', 'severity'], registers: [registry] });
      authorize = new Counter({ name: P + 'authorize_decisions_total', help: 'Forward-auth answers of /v1/authorize, by outcome and listener (api, gateway)', labelNames: ['outcome', 'listener'], registers: [registry] });
      polls = new Counter({ name: P + 'revocation_polls_total', help: 'GET /v1/revocations answers, by HTTP status (200 list or delta, 304 unchanged) and listener (api, gateway)', labelNames: ['code', 'listener'], registers: [registry] });
      gatewayRestarts = new Counter({ name: P + 'gateway_worker_restarts_total', help: 'Gateway listener workers started to replace one that ended unexpectedly', registers: [registry] });
      gatewayNice = new Gauge({ name: P + 'gateway_priority_nice', help: "OS nice value (Linux) of the gateway listener's thread (gateway) and of the process's other threads (background), per gateway.background_nice", labelNames: ['thread'], registers: [registry] });
    },

    /** The tick recorder, also observing each tick's duration and findings. */
    recordTicks(inner: TickStatsRecorder): TickStatsRecorder {
      return {
        ...inner,
        record(t: TickReport): void {
          ticks?.observe(t.tookMs / 1000);
          for (const r of t.results) {
            for (const label of detectionFigures(r)?.labels ?? []) {
              const [pattern = 'unknown', severity = 'unknown'] = label.split('/');
              findings?.inc({ pattern, severity });
            }
          }
          inner.record(t);
        },
      };
    },

    /** Forward-auth that counts its answers. */
    countAuthorize(fa: ForwardAuth): ForwardAuth {
      return {
        authorize(entities) {
          const answer = fa.authorize(entities);
          authorize?.inc({ outcome: decisionOutcome(answer.decision), listener: 'api' });
          return answer;
        },
        get buckets() {
          return fa.buckets;
        },
      };
    },

    /** Counts one answer of GET /v1/revocations on the API port. */
    polled(status: number): void {
      polls?.inc({ code: String(status), listener: 'api' });
    },

    /** What the gateway listener's worker answered since its last report. */
    gatewayCounted(c: { authorize: Record<string, number>; polls: Record<string, number> }): void {
      for (const [outcome, n] of Object.entries(c.authorize)) authorize?.inc({ outcome, listener: 'gateway' }, n);
      for (const [code, n] of Object.entries(c.polls)) polls?.inc({ code, listener: 'gateway' }, n);
    },

    /** The gateway listener replaced a worker that ended unexpectedly. */
    gatewayRestarted(): void {
      gatewayRestarts?.inc();
    },

    /** The nice values the gateway worker and the rest of the process run at, after a worker started. */
    gatewayPriority(p: { gateway: number; background: number }): void {
      gatewayNice?.set({ thread: 'gateway' }, p.gateway);
      gatewayNice?.set({ thread: 'background' }, p.background);
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
