import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { IngestStatsRepo } from '../store/ingest-stats-repo.ts';
import { Timestamp } from './schemas.ts';
import { readRange } from './time-range.ts';

// What the collectors counted, read from the store (every collector flushes its counters there every 10 s), so the
// API answers the same whether the collector runs in this process or in N others.

const Range = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time', description: 'start (inclusive); default 24 h before `to`' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'end (exclusive); default now' })),
  },
  { additionalProperties: false },
);
type RangeQuery = Static<typeof Range>;

const UnrecognizedBody = Type.Object({
  from: Timestamp,
  to: Timestamp,
  attributes: Type.Array(
    Type.Object({
      attribute: Type.String({ description: 'a usage-prefixed attribute name no family vocabulary knows' }),
      spans: Type.Number({ description: 'spans that carried it and no known count' }),
      last_seen: Type.String({ format: 'date-time', description: 'the last flush (every 10 s) that counted it' }),
    }),
  ),
});

const Counter = Type.Record(Type.String(), Type.Number());
const IngestBody = Type.Object({
  from: Timestamp,
  to: Timestamp,
  counters: Type.Object({
    spans_received: Type.Number(),
    spans_ignored: Type.Number(),
    spans_superseded: Type.Number(),
    events_accepted: Type.Number(),
    call_collisions: Type.Number({ description: 'pairs of spans with a hint of being one call whose evidence disagreed: both counted' }),
    call_discrepancies: Type.Number({ description: 'pairs judged one call whose counts differed slightly or whose models differed' }),
    call_late_evidence: Type.Number({ description: 'calls whose stored usage spans arriving later showed to be too high' }),
  }),
  spans_rejected: Counter,
  unrecognized_usage_attribute: Counter,
  calls_without_counts: Counter,
  token_spans_received: Type.Record(Type.String(), Type.Number(), { description: 'spans received per ingest token name' }),
  token_spans_rejected: Type.Record(Type.String(), Counter, { description: 'rejected spans per ingest token name, then reason (out_of_scope_tenant, out_of_scope_api_key, out_of_scope_service, and every other reason)' }),
  ingest_unauthorized: Type.Record(Type.String(), Type.Number(), { description: 'OTLP requests refused with 401 per reason: missing, unknown, revoked' }),
  requests_refused: Type.Record(Type.String(), Type.Number(), { description: 'OTLP requests refused with 429 before their body was read, per reason: memory (the collector over ingest.memory_limit_mib)' }),
  gauges: Type.Object({
    spool_bytes: Type.Number(),
    spool_files: Type.Number(),
    dead_events: Type.Number(),
    writer_queue: Type.Number(),
    writer_lag_ms: Type.Number(),
  }),
});

const SCALARS = ['spans_received', 'spans_ignored', 'spans_superseded', 'events_accepted', 'call_collisions', 'call_discrepancies', 'call_late_evidence'] as const;
const LABELLED = ['spans_rejected', 'unrecognized_usage_attribute', 'calls_without_counts', 'token_spans_received', 'ingest_unauthorized', 'requests_refused'] as const;
const GAUGE_NAMES = ['spool_bytes', 'spool_files', 'dead_events', 'writer_queue', 'writer_lag_ms'] as const;

export interface IngestStatsOptions {
  repo: IngestStatsRepo;
  now: () => number;
}

function range(q: RangeQuery, now: number): { from: number; to: number } {
  return readRange(q, now, 86_400_000);
}

/** `GET /api/usage/unrecognized` and `GET /api/usage/ingest` (admin token). */
export const ingestStatsRoutes: FastifyPluginAsyncTypebox<IngestStatsOptions> = async (app, o) => {
  app.get(
    '/api/usage/unrecognized',
    {
      config: { auth: 'admin' },
      schema: { tags: ['usage'], summary: 'Usage attribute names no family vocabulary knows, per name (default: last 24 h)', querystring: Range, response: { 200: UnrecognizedBody } },
    },
    async (request) => {
      const r = range(request.query, o.now());
      const attributes = await o.repo.unrecognized(r.from, r.to);
      return { from: new Date(r.from).toISOString(), to: new Date(r.to).toISOString(), attributes };
    },
  );

  app.get(
    '/api/usage/ingest',
    {
      config: { auth: 'admin' },
      schema: { tags: ['usage'], summary: 'Collector counters summed over a range, and the latest gauges (default: last 24 h)', querystring: Range, response: { 200: IngestBody } },
    },
    async (request) => {
      const r = range(request.query, o.now());
      const rows = await o.repo.totals(r.from, r.to);
      const body: Static<typeof IngestBody> = {
        from: new Date(r.from).toISOString(),
        to: new Date(r.to).toISOString(),
        counters: Object.fromEntries(SCALARS.map((n) => [n, 0])) as Static<typeof IngestBody>['counters'],
        spans_rejected: {},
        unrecognized_usage_attribute: {},
        calls_without_counts: {},
        token_spans_received: {},
        token_spans_rejected: {},
        ingest_unauthorized: {},
        requests_refused: {},
        gauges: Object.fromEntries(GAUGE_NAMES.map((n) => [n, 0])) as Static<typeof IngestBody>['gauges'],
      };
      for (const row of rows) {
        if ((SCALARS as readonly string[]).includes(row.name)) body.counters[row.name as (typeof SCALARS)[number]] += row.value;
        else if ((LABELLED as readonly string[]).includes(row.name)) body[row.name as (typeof LABELLED)[number]][row.label] = row.value;
        else if (row.name === 'token_spans_rejected') {
          const cut = row.label.indexOf('/');
          (body.token_spans_rejected[row.label.slice(0, cut)] ??= {})[row.label.slice(cut + 1)] = row.value;
        }
        else if ((GAUGE_NAMES as readonly string[]).includes(row.name)) body.gauges[row.name as (typeof GAUGE_NAMES)[number]] = row.value;
      }
      return body;
    },
  );
};
