import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { httpStatusOf } from '../api/errors.ts';
import type { Refusal } from './write-outcome.ts';
import type { Ingest, IngestResult } from './ingest.ts';
import { decodeJson, decodeProtobuf, encodeExportResponse, encodeStatus, rpcCodeForHttpStatus, type OtlpFormat } from './otlp/index.ts';
import { storeTooSlow, within } from './answer-deadline.ts';
import { answerWhileStreaming, DEFAULT_DRAIN, type DrainBounds } from './answer-early.ts';
import { BodyBudget, defaultBudgetBytes, type BodyShare } from './body-budget.ts';
import { BUSY, readBody, type RawBody } from './read-body.ts';
import type { MetricsIngest } from './metrics-ingest.ts';
import { countLogRecords, decodeMetrics } from './otlp/decode-metrics.ts';
import { encodeLogsResponse, encodeMetricsResponse } from './otlp/metrics-response.ts';
import { Turns } from './turns.ts';
import { methodNotAllowedRoutes } from './method-not-allowed.ts';

export interface CollectorPluginOptions {
  ingest: Ingest;
  /** Inflated and compressed body limit in bytes (`ingest.body_limit_mib`). */
  bodyLimit: number;
  /**
   * Request bodies held in memory at once, in bytes: bodies being read (as they arrive, inflated), waiting for their
   * turn, being decoded, and (as the rows they became) waiting for the store. A request whose next chunk would pass it gets 429 at once. Default: the larger of 64 MiB
   * and 4 × `bodyLimit`. Ignored when `bodyBudget` is given.
   */
  maxInflightBytes?: number;
  /** The budget itself, when the caller wants to watch it (metrics, tests). */
  bodyBudget?: BodyBudget;
  /** Asked before inflating and decoding a body: a refusal (full queue, shutting down) is answered at once. */
  refusal?: () => Refusal | null;
  /**
   * Asked only before a body is read (the memory limiter): a request already reading its body is let through, so what
   * was admitted completes and its memory is not spent for nothing.
   */
  admission?: () => Refusal | null;
  /** How much of a refused body is still read, and for how long, so the client reads the answer (DEFAULT_DRAIN). */
  drain?: DrainBounds;
  /** Told the status of every answer of POST /v1/traces, also the early ones written to the socket (metrics). */
  onAnswer?: (status: number) => void;
  /**
   * Longest wait for the store once a body is decoded (`ingest.answer_within`); past it the request is answered 503
   * with Retry-After while its write goes on (answer-deadline.ts). Default: no bound.
   */
  answerWithinMs?: number;
  /** Token usage metrics ingest for POST /v1/metrics (absent: the route answers 404). */
  metrics?: Pick<MetricsIngest, 'ingest' | 'noteSpans'>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The body as read; taken off the request once decoded. */
    rawOtlp?: RawBody | undefined;
    /** This request's part of the collector's budget of bodies held at once. */
    bodyShare?: BodyShare;
  }
}

function formatOf(contentType: string | undefined): OtlpFormat | null {
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct === 'application/x-protobuf' || ct === 'application/protobuf') return 'protobuf';
  if (ct === 'application/json') return 'json';
  return null;
}

function sendStatus(reply: FastifyReply, status: number, message: string, format: OtlpFormat, retryAfter?: number): FastifyReply {
  answeredOf.get(reply.server)?.(status);
  const body = encodeStatus(rpcCodeForHttpStatus(status), message, format);
  // Answered before the body was all read (a refused body): the answer must survive the rest of the upload. A 429 for
  // a body of declared length is answered on the kept connection while the rest is read and dropped (bounded by that
  // length): closing it would make every refused exporter reconnect, and a burst of reconnects overflows the listen
  // backlog (dropped SYNs are retried only after a second or more).
  const raw = reply.request.rawOtlp;
  if (!reply.request.raw.complete && raw?.ok === false && !(raw.status === 429 && raw.bounded)) {
    answerWhileStreaming(reply.request, reply, status, body, drainOf.get(reply.server) ?? DEFAULT_DRAIN, retryAfter);
    return reply;
  }
  if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
  if (status === 413) void reply.header('connection', 'close');
  return reply.code(status).type(body.contentType).send(body.body);
}

/** The refusal the body reader answered with (413, 415, 429, a bad encoding), if any. */
function failedBody(request: FastifyRequest): Exclude<RawBody, { ok: true }> | undefined {
  const raw = request.rawOtlp;
  return raw && !raw.ok ? raw : undefined;
}

/** A body refused because too many bodies are held at once is retried later; other refusals are final. */
function retryAfterOf(raw: RawBody): number | undefined {
  return raw.ok || raw.status !== 429 ? undefined : raw.retryAfterSeconds;
}

const drainOf = new WeakMap<FastifyInstance, DrainBounds>();
const answeredOf = new WeakMap<FastifyInstance, (status: number) => void>();

/** OTLP/HTTP trace receiver (docs/concepts/one-call.md): POST /v1/traces in protobuf or JSON, optionally gzipped. */
export async function collectorPlugin(app: FastifyInstance, opts: CollectorPluginOptions): Promise<void> {
  // Auth is the shared plugin (api/auth.ts), registered on the listener first: it answers 401 before any body is read.
  if (!app.hasRequestDecorator('role')) throw new Error('collectorPlugin needs the auth plugin (api/auth.ts) registered on its listener first');
  drainOf.set(app, opts.drain ?? { ...DEFAULT_DRAIN, maxBytes: Math.max(DEFAULT_DRAIN.maxBytes, opts.bodyLimit * 4) });
  if (opts.onAnswer) answeredOf.set(app, opts.onAnswer);
  const budget = opts.bodyBudget ?? new BodyBudget(opts.maxInflightBytes ?? defaultBudgetBytes(opts.bodyLimit));
  const busy = { status: 429, reason: BUSY.message, retryAfterSeconds: BUSY.retryAfterSeconds } as const;
  const turns = new Turns();
  const answerWithin = opts.answerWithinMs ?? Number.POSITIVE_INFINITY;
  const slow = storeTooSlow(answerWithin);
  // Every request gets its share before its body is read, and keeps it until its answer is sent: while its spans wait
  // for the store it holds their encoded rows instead of the body (about as large). Given back earlier when reading
  // refuses the body, and at the latest when the response closes (a client gone).
  app.addHook('preParsing', async (request, reply, payload) => {
    const share = budget.share();
    request.bodyShare = share;
    reply.raw.once('close', () => share.release());
    return payload;
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    request.bodyShare?.release();
    return payload;
  });
  // Our own reader for every content type: limits, gzip, 415 and the in-flight budget are answered in OTLP form below.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request: FastifyRequest, payload: Readable, done: (err: Error | null, body?: unknown) => void) => {
    const declared = Number(request.headers['content-length']);
    readBody(payload, request.headers['content-encoding'], opts.bodyLimit, Number.isFinite(declared) ? declared : undefined, request.bodyShare).then(
      (raw) => {
        request.rawOtlp = raw;
        done(null, null);
      },
      (err: Error) => {
        request.bodyShare?.release();
        done(Object.assign(err, { statusCode: 400 }));
      },
    );
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    const known = httpStatusOf(err);
    const status = known >= 400 && known < 500 ? known : 400;
    // Still a 4xx (never 500 on client input), but an error without a client status is our bug: log it as one.
    if (known >= 500) request.log.error({ err }, 'unexpected error while handling an OTLP request');
    else request.log.info({ err: err.message }, 'bad OTLP request');
    return sendStatus(reply, status, err.message, formatOf(request.headers['content-type']) ?? 'json');
  });

  /**
   * Decodes a read body and hands its spans to ingest, synchronously. The body leaves the request here: from now on
   * the request holds only the encoded rows ingest queued for the store (about the body's size, so its share of the
   * budget stays until the answer). Kept out of the async handler on purpose: V8 keeps an async function's locals
   * alive across its awaits, so a local holding the body or the decoded spans would keep them until the store answers.
   */
  function startIngest(request: FastifyRequest, format: OtlpFormat): { ok: true; pending: Promise<IngestResult> } | { ok: false; error: string } {
    const raw = request.rawOtlp;
    request.rawOtlp = undefined;
    const bytes = raw?.ok ? raw.bytes : Buffer.alloc(0);
    const decoded = format === 'protobuf' ? decodeProtobuf(bytes) : decodeJson(bytes);
    if (!decoded.ok) return { ok: false, error: decoded.error };
    opts.metrics?.noteSpans(decoded.spans);
    return { ok: true, pending: opts.ingest.ingest(decoded.spans, decoded.rejected, request.ingestToken) };
  }

  // Under overload the answer is known before the body arrives: refusing then means the body is discarded as it
  // streams in instead of being buffered, so memory stays flat however many clients push at once.
  const refuseEarly = async (request: FastifyRequest, reply: FastifyReply) => {
    // The auth plugin's onRequest hook has run first: an unauthorized request never gets here.
    const refused = opts.refusal?.() ?? opts.admission?.() ?? (budget.held >= budget.maxBytes ? busy : null);
    if (refused) {
      await sendStatus(reply, refused.status, refused.reason, formatOf(request.headers['content-type']) ?? 'json', refused.retryAfterSeconds);
    }
  };

  // The body is read by our parser above, within its own limit.
  app.post('/v1/traces', { bodyLimit: Number.MAX_SAFE_INTEGER, config: { auth: 'otlp' }, onRequest: refuseEarly }, async (request, reply) => {
    const format = formatOf(request.headers['content-type']);
    if (!format) {
      return sendStatus(reply, 415, `unsupported Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')}; use application/x-protobuf or application/json`, 'json');
    }
    const failed = failedBody(request);
    if (failed) return sendStatus(reply, failed.status, failed.message, format, retryAfterOf(failed));
    const refused = opts.refusal?.();
    if (refused) return sendStatus(reply, refused.status, refused.reason, format, refused.retryAfterSeconds);
    // Decoding, mapping, pricing and encoding are synchronous (~25 µs a span): one request at a time, with I/O
    // let in between (see Turns). The turn ends where ingest starts waiting for the store.
    await turns.acquire();
    let started: ReturnType<typeof startIngest>;
    try {
      started = startIngest(request, format);
    } finally {
      turns.release();
    }
    if (!started.ok) return sendStatus(reply, 400, started.error, format);
    const result = await within(started.pending, answerWithin, null);
    if (result === null) return sendStatus(reply, slow.status, slow.reason, format, slow.retryAfterSeconds);
    if (!result.outcome.ok) return sendStatus(reply, result.outcome.status, result.outcome.reason, format, result.outcome.retryAfterSeconds);
    const body = encodeExportResponse(result.rejected > 0 ? { rejectedSpans: result.rejected, errorMessage: result.firstError } : null, format);
    opts.onAnswer?.(200);
    return reply.code(200).type(body.contentType).send(body.body);
  });

  // Token usage histograms, for services that send metrics but no spans (docs/otlp-metrics.md).
  app.post('/v1/metrics', { bodyLimit: Number.MAX_SAFE_INTEGER, config: { auth: 'otlp' }, onRequest: refuseEarly }, async (request, reply) => {
    const format = formatOf(request.headers['content-type']);
    if (!format) return sendStatus(reply, 415, `unsupported Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')}; use application/x-protobuf or application/json`, 'json');
    const inflated = request.rawOtlp ?? { ok: true as const, bytes: Buffer.alloc(0) };
    if (!inflated.ok) return sendStatus(reply, inflated.status, inflated.message, format, retryAfterOf(inflated));
    if (!opts.metrics) return sendStatus(reply, 404, 'OTLP metrics are not accepted by this collector; export traces to /v1/traces', format);
    const decoded = decodeMetrics(inflated.bytes, format);
    if (!decoded.ok) return sendStatus(reply, 400, decoded.error, format);
    let result;
    try {
      result = await within(opts.metrics.ingest(decoded.points, decoded.otherPoints, request.ingestToken, decoded.rejected), answerWithin, null);
    } catch (err) {
      // Reading a cumulative series' last point failed: nothing was counted, the exporter retries.
      request.log.warn({ err }, 'cannot read metric series state');
      return sendStatus(reply, 503, 'store unavailable: cannot read the state of cumulative metric series; retry later', format, 5);
    }
    if (result === null) return sendStatus(reply, slow.status, slow.reason, format, slow.retryAfterSeconds);
    if (!result.outcome.ok) return sendStatus(reply, result.outcome.status, result.outcome.reason, format, result.outcome.retryAfterSeconds);
    const body = encodeMetricsResponse(result.rejected, result.firstError, format);
    return reply.code(200).type(body.contentType).send(body.body);
  });

  methodNotAllowedRoutes(app);

  // Logs are not ingested. A 200 whose partial success rejects every record tells the exporter so without making it
  // retry (OTLP exporters retry 429/502/503/504 and log every 4xx as an export failure, on every batch).
  app.post('/v1/logs', { bodyLimit: Number.MAX_SAFE_INTEGER, config: { auth: 'otlp' } }, async (request, reply) => {
    const format = formatOf(request.headers['content-type']);
    if (!format) return sendStatus(reply, 415, `unsupported Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')}; use application/x-protobuf or application/json`, 'json');
    const inflated = request.rawOtlp ?? { ok: true as const, bytes: Buffer.alloc(0) };
    if (!inflated.ok) return sendStatus(reply, inflated.status, inflated.message, format, retryAfterOf(inflated));
    const records = countLogRecords(inflated.bytes, format);
    if (records < 0) return sendStatus(reply, 400, `invalid ${format} logs request`, format);
    const body = encodeLogsResponse(records, 'logs are not ingested: tollkeeper meters usage from traces (/v1/traces) and token usage metrics (/v1/metrics)', format);
    return reply.code(200).type(body.contentType).send(body.body);
  });
}
