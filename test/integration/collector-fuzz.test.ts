// Malformed, oversized, hostile or fuzzed input gets a clear 4xx, never a crash or a partial write,
// over real HTTP against the real app on 127.0.0.1 and its embedded ClickHouse.
import { existsSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { chatSpan, exportJson, exportProtobuf, uniqueIds, type TestSpan } from '../helpers/otlp-bodies.ts';
import { waitFor } from '../helpers/wait.ts';
import { byteEdit, mutate } from '../helpers/byte-edits.ts';

const ALLOWED = [200, 400, 413, 415, 429];
const BODY_LIMIT = 1024 * 1024;

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ yaml: 'ingest: { body_limit_mib: 1, flush_interval: 5ms }', startLoop: false });
});
afterAll(async () => {
  await t?.close({ cleanup: true });
});

/** POSTs raw bytes with exactly these headers; rejects on a reset or any other transport failure. */
function send(body: Uint8Array, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const url = new URL(`${t.otlpUrl}/v1/traces`);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// --- what goes into a span: the attributes that meter, with good, bad and absurd values ---------------------

const meteredKeys = fc.constantFrom(
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.prompt_tokens',
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.reasoning.output_tokens',
  'gen_ai.usage.cost',
  'llm.token_count.prompt',
  'llm.token_count.completion',
  'ai.usage.promptTokens',
  'tollkeeper.compute.seconds',
);
const identityKeys = fc.constantFrom('tollkeeper.api_key.id', 'user.id', 'tenant.id', 'gen_ai.agent.id', 'gen_ai.conversation.id', 'gen_ai.request.model', 'gen_ai.provider.name', 'gen_ai.system');
const oddNumber = fc.constantFrom(-1, -1000, Number.NaN, Infinity, -Infinity, 1e300, 2 ** 53 + 2, 1.5, 0, 100_000_001, -0);
const oddString = fc.constantFrom('', '\ud800', 'a\udc00b', '\u0000', '🙂', 'x'.repeat(5000), '12', 'NaN', '-5');
const leaf = fc.oneof(fc.integer(), fc.double({ min: -1e6, max: 1e6 }), fc.double(), oddNumber, fc.string({ maxLength: 20 }), oddString, fc.boolean(), fc.constant(null));
const { value: attrValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ maxDepth: 3, depthSize: 'small' }, leaf, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 })),
}));
const attributes = fc.dictionary(fc.oneof(meteredKeys, identityKeys, fc.constant('gen_ai.operation.name'), fc.string({ maxLength: 12 })), fc.oneof(leaf, attrValue), { maxKeys: 8 });

const endOffsetMs = fc.constantFrom(0, 0, 0, -60_000, -40 * 86_400_000, 10 * 60_000, -1);
const spanArb = fc.record({ name: fc.string({ maxLength: 16 }), end: endOffsetMs, attributes, metered: fc.nat(3), key: fc.constantFrom('fuzz', 'fuzz', '\ud800', 'k\udc00', '\u0000', '🙂', '') }).map(
  (s): TestSpan => ({
    ...uniqueIds(),
    name: s.name,
    endMs: Date.now() + s.end,
    // Mostly spans that meter (with odd values on top), so most requests reach the store.
    attributes: s.metered > 0 ? { 'gen_ai.operation.name': 'chat', 'tollkeeper.api_key.id': s.key, 'gen_ai.usage.input_tokens': 5, ...s.attributes } : s.attributes,
  }),
);
/** Nested `depth` levels deep (the decoder allows 32). */
const deep = (depth: number): unknown => (depth === 0 ? 1 : [deep(depth - 1)]);
const spansArb = fc.oneof(
  { weight: 20, arbitrary: fc.array(spanArb, { minLength: 0, maxLength: 6 }) },
  // Hostile shapes: attribute values nested past the limit, and more attributes than a span may carry.
  { weight: 1, arbitrary: fc.tuple(spanArb, fc.integer({ min: 28, max: 40 })).map(([s, d]) => [{ ...s, attributes: { ...s.attributes, nested: deep(d) } }]) },
  { weight: 1, arbitrary: spanArb.map((s) => [{ ...s, attributes: { ...s.attributes, ...Object.fromEntries(Array.from({ length: 1100 }, (_, i) => [`k${i}`, i])) } }]) },
);

// --- wrong types in OTLP/JSON AnyValues, which no SDK would send ------------------------------------------------

const wrongJsonValue = fc.constantFrom<unknown>(
  { intValue: 'abc' },
  { intValue: '12' },
  { intValue: 1.5 },
  { intValue: '99999999999999999999999' },
  { doubleValue: 'NaN' },
  { doubleValue: 'Infinity' },
  { stringValue: 5 },
  { boolValue: 'yes' },
  { arrayValue: 3 },
  { kvlistValue: { values: [{}] } },
  {},
  null,
  'bare',
);

function withWrongTypes(json: string, seed: number, value: unknown): string {
  const tree = JSON.parse(json) as { resourceSpans: { scopeSpans: { spans: { attributes: { value: unknown }[] }[] }[] }[] };
  const spans = tree.resourceSpans[0]?.scopeSpans[0]?.spans ?? [];
  const span = spans[seed % Math.max(spans.length, 1)];
  const attr = span?.attributes[seed % Math.max(span.attributes.length, 1)];
  if (attr) attr.value = value;
  return JSON.stringify(tree);
}

// --- whole requests: a body, and the headers that describe it (rightly or not) ---------------------------------

interface Case {
  body: Uint8Array;
  format: 'json' | 'protobuf' | 'other';
  spans: TestSpan[];
  label: string;
}

const bodyArb: fc.Arbitrary<Case> = fc.oneof(
  { weight: 4, arbitrary: spansArb.map((spans): Case => ({ body: exportProtobuf(spans), format: 'protobuf', spans, label: 'protobuf' })) },
  { weight: 4, arbitrary: spansArb.map((spans): Case => ({ body: Buffer.from(exportJson(spans)), format: 'json', spans, label: 'json' })) },
  {
    weight: 2,
    arbitrary: fc.tuple(spansArb, fc.nat(), wrongJsonValue).map(([spans, seed, v]): Case => ({ body: Buffer.from(withWrongTypes(exportJson(spans), seed, v)), format: 'json', spans, label: 'json wrong types' })),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(spansArb, fc.array(byteEdit, { minLength: 1, maxLength: 6 }), fc.option(fc.nat())).map(([spans, edits, cut]): Case => ({ body: mutate(exportProtobuf(spans), edits, cut), format: 'protobuf', spans, label: 'mutated protobuf' })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(spansArb, fc.array(byteEdit, { minLength: 1, maxLength: 6 }), fc.option(fc.nat())).map(([spans, edits, cut]): Case => ({ body: mutate(Buffer.from(exportJson(spans)), edits, cut), format: 'json', spans, label: 'mutated json' })),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v): Case => ({ body: Buffer.from(JSON.stringify(v) ?? 'null'), format: 'json', spans: [], label: 'random json' })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((b): Case => ({ body: b, format: 'other', spans: [], label: 'random bytes' })) },
  {
    weight: 1,
    arbitrary: spansArb.map((spans): Case => {
      const json = exportJson(spans);
      return { body: Buffer.from(json + ' '.repeat(BODY_LIMIT + 1 - json.length)), format: 'json', spans, label: 'oversized' };
    }),
  },
);

const encodingArb = fc.oneof(
  { weight: 10, arbitrary: fc.constant('none') },
  { weight: 4, arbitrary: fc.constant('gzip') },
  { weight: 4, arbitrary: fc.constantFrom('gzip-truncated', 'x-gzip', 'deflate', 'identity', 'br', 'gzip-lie', 'gzip-bomb', 'odd') },
);
const contentTypeArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant('matching') },
  { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'APPLICATION/X-PROTOBUF', 'application/protobuf', 'text/plain', '', 'missing', 'application/x-protobuf; proto=x', 'multipart/form-data; boundary=x') },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }) },
);

function headersFor(c: Case, contentType: string, encoding: string): { body: Uint8Array; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  if (contentType === 'matching') headers['content-type'] = c.format === 'protobuf' ? 'application/x-protobuf' : 'application/json';
  else if (contentType !== 'missing') headers['content-type'] = contentType;
  let body = c.body;
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      body = gzipSync(body);
      headers['content-encoding'] = encoding;
      break;
    case 'gzip-truncated': {
      const z = gzipSync(body);
      body = z.subarray(0, Math.max(1, z.length - 1 - (z.length >> 2)));
      headers['content-encoding'] = 'gzip';
      break;
    }
    case 'gzip-lie':
      headers['content-encoding'] = 'gzip';
      break;
    case 'gzip-bomb':
      body = gzipSync(Buffer.concat([c.body, Buffer.alloc(2 * BODY_LIMIT, 0x20)]));
      headers['content-encoding'] = 'gzip';
      break;
    case 'deflate':
      body = deflateSync(body);
      headers['content-encoding'] = 'deflate';
      break;
    case 'identity':
    case 'br':
      headers['content-encoding'] = encoding;
      break;
    case 'odd':
      headers['content-encoding'] = 'gzip, gzip';
      break;
  }
  return { body, headers };
}

describe('fuzzed OTLP over HTTP', () => {
  it('always answers 200/400/413/415/429, keeps serving, and stores nothing from a refused request', { timeout: 120_000 }, async () => {
    const refusedTraces = new Set<string>();
    const acceptedTraces = new Set<string>();
    const seen: Record<string, number> = {};
    const labels: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(bodyArb, contentTypeArb, encodingArb, async (c, contentType, encoding) => {
        const { body, headers } = headersFor(c, contentType, encoding);
        const r = await send(body, headers);
        seen[r.status] = (seen[r.status] ?? 0) + 1;
        labels[`${c.label}/${encoding}:${r.status}`] = (labels[`${c.label}/${encoding}:${r.status}`] ?? 0) + 1;
        if (!ALLOWED.includes(r.status)) throw new Error(`${c.label} ${JSON.stringify(headers)}: unexpected ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
        if (r.status === 413) expect(r.headers.connection).toBe('close');
        if (r.status === 429) expect(r.headers['retry-after']).toBeDefined();
        for (const s of c.spans) (r.status === 200 ? acceptedTraces : refusedTraces).add(s.traceId);
      }),
      { numRuns: Number(process.env.TOLLKEEPER_FUZZ_RUNS ?? 200), interruptAfterTimeLimit: 25_000, markInterruptAsFailure: false },
    );
    if (process.env.TOLLKEEPER_TEST_LOG) console.log(seen, labels);
    expect(seen[200]).toBeGreaterThan(0);
    expect(seen[400]).toBeGreaterThan(0);

    // Still serving, and the writer still writes: a well-formed request after the storm is stored.
    expect((await fetch(`${t.otlpUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.otlpUrl}/readyz`)).status).toBe(200);
    const probe = chatSpan({ 'tollkeeper.api_key.id': 'after-fuzz', 'gen_ai.usage.input_tokens': 3 });
    expect((await send(exportProtobuf([probe]), { 'content-type': 'application/x-protobuf' })).status).toBe(200);
    const store = t.app.store;
    await waitFor(async () => (await store.query<{ n: number }>(`SELECT count() AS n FROM ${store.table('usage_events')} WHERE api_key = 'after-fuzz'`))[0]?.n === 1, {
      what: 'the request after the fuzz run to be stored',
    });

    // No partial write: nothing stored comes from a request that was refused.
    const stored = await store.query<{ trace_id: string }>(`SELECT DISTINCT trace_id FROM ${store.table('usage_events')}`);
    const leaked = stored.map((r) => r.trace_id).filter((id) => refusedTraces.has(id) && !acceptedTraces.has(id));
    expect(leaked).toEqual([]);
    expect(stored.length).toBeGreaterThan(1);
    // Nothing is stuck in the spool nor set aside as refused by the store.
    const stats = t.app.writer!.stats();
    expect({ spoolFiles: stats.spoolFiles, deadEvents: stats.deadEvents, storeHealthy: stats.storeHealthy }).toEqual({ spoolFiles: 0, deadEvents: 0, storeHealthy: true });
    const dead = join(t.dataDir, 'spool', 'dead');
    expect(existsSync(dead) ? readdirSync(dead) : []).toEqual([]);
  });
});

describe('odd text in OTLP/JSON', () => {
  it('stores a span whose identity holds a lone UTF-16 surrogate, and ingest carries on', async () => {
    const odd = chatSpan({ 'tollkeeper.api_key.id': 'lone-\ud800', 'gen_ai.usage.input_tokens': 4 });
    const good = chatSpan({ 'tollkeeper.api_key.id': 'next-to-lone', 'gen_ai.usage.input_tokens': 6 });
    const r = await send(Buffer.from(exportJson([odd, good])), { 'content-type': 'application/json' });
    expect(r.status).toBe(200);
    const later = chatSpan({ 'tollkeeper.api_key.id': 'after-lone', 'gen_ai.usage.input_tokens': 1 });
    expect((await send(Buffer.from(exportJson([later])), { 'content-type': 'application/json' })).status).toBe(200);
    const store = t.app.store;
    const rows = await waitFor(async () => {
      const got = await store.query<{ api_key: string }>(`SELECT api_key FROM ${store.table('usage_events')} WHERE trace_id IN {ids:Array(String)} ORDER BY api_key`, { ids: [odd.traceId, good.traceId, later.traceId] });
      return got.length === 3 ? got : undefined;
    }, { what: 'all three spans to be stored' });
    expect(rows.map((x) => x.api_key)).toEqual(['after-lone', 'lone-\ufffd', 'next-to-lone']);
    expect(t.app.writer!.stats().spoolFiles).toBe(0);
  });
});
