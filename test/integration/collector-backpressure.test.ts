// Overload answers over real HTTP (docs/operations.md): 503 + Retry-After when the store is down and the spool is full,
// 429 + Retry-After when the queue or the decode budget is full; /healthz keeps answering; nothing acknowledged
// is lost. The store is the real embedded ClickHouse, with failures injected in front of it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RpcStatus } from '../../collector/otlp/proto.ts';
import { startApp } from '../helpers/app.ts';
import { startCollector, type CollectorOptions, type TestCollector } from '../helpers/collector-app.ts';
import { faultyRepo, type Faults } from '../helpers/faulty-repo.ts';
import { chatSpan, exportJson, exportProtobuf, type TestSpan } from '../helpers/otlp-bodies.ts';
import { eventTotals, useTestStore, rollupTotals, sharedDataDir } from '../helpers/test-store.ts';
import { waitFor } from '../helpers/wait.ts';

const stores = useTestStore();
const { cleanups } = stores;

async function collector(o: Partial<Omit<CollectorOptions, 'repo' | 'spoolDir'>>): Promise<TestCollector & { faults: Faults }> {
  const spoolDir = mkdtempSync(join(tmpdir(), 'tollkeeper-spool-'));
  cleanups.push(() => rmSync(spoolDir, { recursive: true, force: true }));
  const { repo, faults } = faultyRepo(stores.ts.repo);
  const c = await startCollector({ repo, spoolDir, spoolMaxBytes: 64 * 1024 * 1024, batchSize: 1000, flushIntervalMs: 5, maxQueued: 100_000, ...o });
  cleanups.push(() => c.close());
  return { ...c, faults };
}

let keySeq = 0;
const freshKey = (name: string) => `${name}-${process.pid}-${++keySeq}`;

/** `n` chat spans for `apiKey` with 10..19 input tokens each. */
function spansFor(apiKey: string, n: number): TestSpan[] {
  return Array.from({ length: n }, (_, i) => chatSpan({ 'tollkeeper.api_key.id': apiKey, 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10 + (i % 10) }));
}

/** Posts spans as an OTLP export, or a raw body as it is. */
async function post(url: string, spans: readonly TestSpan[] | Buffer, format: 'json' | 'protobuf' = 'json') {
  const body = Buffer.isBuffer(spans) ? spans : format === 'json' ? exportJson(spans) : exportProtobuf(spans);
  const res = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf' }, body });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), contentType: res.headers.get('content-type') ?? '', body: Buffer.from(await res.arrayBuffer()) };
}

/** The stored events of `apiKey` are exactly `acked`, once each, in raw rows and in the rollup. */
async function expectStoredExactly(apiKey: string, acked: readonly TestSpan[]): Promise<void> {
  const tokens = acked.reduce((a, s) => a + (s.attributes['gen_ai.usage.input_tokens'] as number), 0);
  expect(await eventTotals(stores.ts.store, apiKey)).toMatchObject({ rows: acked.length, distinctIds: acked.length, inputTokens: tokens });
  expect(await rollupTotals(stores.ts.store, apiKey)).toMatchObject({ events: acked.length, requests: acked.length, inputTokens: tokens });
  const ids = await stores.ts.store.query<{ id: string }>(`SELECT event_id AS id FROM ${stores.ts.store.table('usage_events')} WHERE api_key = {k:String}`, { k: apiKey });
  expect(ids.map((r) => r.id).sort()).toEqual(acked.map((s) => s.traceId + s.spanId).sort());
}

const healthy = async (url: string) => (await fetch(`${url}/healthz`)).status;

describe('store down and spool full', () => {
  it('answers 503 with Retry-After and an OTLP Status, keeps serving /healthz, and loses nothing it acknowledged', async () => {
    const c = await collector({ spoolMaxBytes: 32 * 1024 });
    const key = freshKey('full');
    c.faults.down = true;
    const acked: TestSpan[] = [];
    const refused: TestSpan[] = [];
    let first503: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 300 && refused.length < 20; i++) {
      const spans = spansFor(key, 4);
      const r = await post(c.url, spans, i % 2 === 0 ? 'json' : 'protobuf');
      expect([200, 503]).toContain(r.status);
      if (r.status === 200) acked.push(...spans);
      else {
        refused.push(...spans);
        first503 ??= r;
      }
    }
    expect(acked.length).toBeGreaterThan(0);
    expect(first503).toBeDefined();
    expect(Number(first503!.retryAfter)).toBeGreaterThanOrEqual(1);
    const status = first503!.contentType.includes('json') ? JSON.parse(first503!.body.toString()) : RpcStatus.toObject(RpcStatus.decode(first503!.body));
    expect(status).toMatchObject({ code: 14, message: expect.stringMatching(/store unavailable/) as unknown });
    expect(await healthy(c.url)).toBe(200);
    expect((await eventTotals(stores.ts.store, key)).rows).toBe(0);

    c.faults.down = false;
    await waitFor(() => c.writer.stats().spoolFiles === 0, { what: 'the spool to drain' });
    const after = spansFor(key, 3);
    expect((await post(c.url, after)).status).toBe(200);
    await expectStoredExactly(key, [...acked, ...after]);
  });
});

describe('store slower than the answer deadline', () => {
  it('answers 503 with Retry-After instead of waiting, finishes the write, and the retry counts each event once', async () => {
    const c = await collector({ answerWithinMs: 1000 });
    const key = freshKey('slow');
    let release!: () => void;
    c.faults.hold = new Promise<void>((resolve) => (release = resolve));
    const spans = spansFor(key, 5);
    const r = await post(c.url, spans);
    expect(r.status).toBe(503);
    expect(r.retryAfter).toBe('5');
    expect(JSON.parse(r.body.toString())).toMatchObject({ code: 14, message: expect.stringMatching(/did not take the usage within 1s/) as unknown });
    expect(c.writer.stats().queued).toBe(5); // the write goes on
    c.faults.hold = undefined;
    release();
    // The exporter retries the same spans: stored once, whichever of the two writes lands them.
    expect((await post(c.url, spans)).status).toBe(200);
    await waitFor(() => c.writer.stats().queued === 0, { what: 'the queue to empty' });
    await expectStoredExactly(key, spans);
  });
});

describe('queue full', () => {
  it('answers 429 with Retry-After while the store is slow, and stores what it took once the store catches up', async () => {
    const c = await collector({ maxQueued: 20 });
    const key = freshKey('queue');
    let release!: () => void;
    c.faults.hold = new Promise<void>((resolve) => (release = resolve));
    const first = spansFor(key, 12);
    const firstReply = post(c.url, first);
    await waitFor(() => c.writer.stats().queued >= 12, { what: 'the first request to be queued' });
    const over = spansFor(key, 10);
    const r = await post(c.url, over);
    expect(r.status).toBe(429);
    expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(r.body.toString())).toMatchObject({ code: 8, message: expect.stringMatching(/queue full/) as unknown });
    expect(await healthy(c.url)).toBe(200);
    c.faults.hold = undefined;
    release();
    expect((await firstReply).status).toBe(200);
    await expectStoredExactly(key, first);
  });

  it('bounds the queue by bytes too: 429 once the encoded events waiting reach maxQueuedBytes, whatever their count', async () => {
    const c = await collector({ maxQueued: 100_000, maxQueuedBytes: 4 * 1024 });
    const key = freshKey('bytes');
    let release!: () => void;
    c.faults.hold = new Promise<void>((resolve) => (release = resolve));
    // An idle writer takes any request: these 20 events are well over 4 KiB encoded.
    const first = spansFor(key, 20);
    const firstReply = post(c.url, first);
    await waitFor(() => c.writer.stats().queued >= 20, { what: 'the first request to be queued' });
    expect(c.writer.stats().queuedBytes).toBeGreaterThan(4 * 1024);
    const r = await post(c.url, spansFor(key, 1));
    expect(r.status).toBe(429);
    expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(r.body.toString())).toMatchObject({ code: 8, message: expect.stringMatching(/queue full/) as unknown });
    c.faults.hold = undefined;
    release();
    expect((await firstReply).status).toBe(200);
    await waitFor(() => c.writer.stats().queuedBytes === 0, { what: 'the queue to empty' });
    await expectStoredExactly(key, first);
    expect((await post(c.url, spansFor(freshKey('bytes-after'), 1))).status).toBe(200);
  });

  it('turns requests away before decoding them while the queue is at its bound', async () => {
    const c = await collector({ maxQueued: 10 });
    const key = freshKey('full');
    let release!: () => void;
    c.faults.hold = new Promise<void>((resolve) => (release = resolve));
    const first = spansFor(key, 10);
    const firstReply = post(c.url, first);
    await waitFor(() => c.writer.stats().queued >= 10, { what: 'the queue to reach its bound' });
    // Not even looked at: a body that would be a 400 gets the 429 a full queue gives every request.
    const r = await post(c.url, Buffer.from('{"resourceSpans": [ not json'));
    expect(r.status).toBe(429);
    // A large body is answered before it is read, and the connection stays usable.
    const big = await post(c.url, Buffer.alloc(6 * 1024 * 1024, 0x20));
    expect(big.status).toBe(429);
    expect(await healthy(c.url)).toBe(200);
    expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(r.body.toString())).toMatchObject({ code: 8, message: expect.stringMatching(/queue full/) as unknown });
    c.faults.hold = undefined;
    release();
    expect((await firstReply).status).toBe(200);
    // With room again, the same body is read and refused for what it is.
    expect((await post(c.url, Buffer.from('{"resourceSpans": [ not json'))).status).toBe(400);
    await expectStoredExactly(key, first);
  });

  it('answers 429 past the in-flight decode budget', async () => {
    const c = await collector({ maxInflightBytes: 1024 });
    const key = freshKey('inflight');
    let release!: () => void;
    c.faults.hold = new Promise<void>((resolve) => (release = resolve));
    // The first request is taken even though it alone is over the budget (an idle collector takes any request).
    const first = spansFor(key, 10);
    const firstReply = post(c.url, first, 'protobuf');
    await waitFor(() => c.writer.stats().queued >= 10, { what: 'the first request to be in flight' });
    const r = await post(c.url, spansFor(key, 2), 'protobuf');
    expect(r.status).toBe(429);
    expect(r.retryAfter).toBe('1');
    expect(r.contentType).toContain('application/x-protobuf');
    expect(RpcStatus.toObject(RpcStatus.decode(r.body))).toMatchObject({ code: 8, message: expect.stringMatching(/in flight/) as unknown });
    expect(await healthy(c.url)).toBe(200);
    c.faults.hold = undefined;
    release();
    expect((await firstReply).status).toBe(200);
    expect((await post(c.url, spansFor(key, 1))).status).toBe(200);
  });
});

describe('the real app under a burst', () => {
  it('answers only 200 or 429 to a burst past its queue bound, and stores every acknowledged span exactly once', async () => {
    const t = await startApp({ yaml: 'ingest: { batch_size: 2, flush_interval: 50ms, spool_max_mib: 1 }', startLoop: false, dataDir: sharedDataDir() });
    cleanups.push(() => t.close());
    const key = freshKey('burst');
    // batch_size 2 bounds the queue at 80 events: 40 concurrent requests of 6 spans overrun it.
    const requests = Array.from({ length: 40 }, () => spansFor(key, 6));
    const replies = await Promise.all(requests.map((spans, i) => post(t.otlpUrl, spans, i % 2 === 0 ? 'json' : 'protobuf')));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    for (const r of replies.filter((x) => x.status === 429)) expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    const acked = requests.filter((_, i) => statuses[i] === 200).flat();
    expect(acked.length).toBeGreaterThan(0);
    const store = t.app.store;
    const rows = await store.query<{ id: string }>(`SELECT event_id AS id FROM ${store.table('usage_events')} WHERE api_key = {k:String}`, { k: key });
    expect(rows.map((r) => r.id).sort()).toEqual(acked.map((s) => s.traceId + s.spanId).sort());
    expect((await fetch(`${t.otlpUrl}/healthz`)).status).toBe(200);
  });
});
