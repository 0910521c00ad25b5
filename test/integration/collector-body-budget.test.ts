// The collector bounds the request bodies it holds at once (being read, decoded or ingested) by the bytes actually
// buffered: past the budget a request gets 429 + Retry-After as soon as its next chunk would pass it, nothing of it is
// stored, and what it held is given back. A slow upload that announces a large Content-Length reserves nothing.
// Real HTTP on 127.0.0.1, the real embedded ClickHouse.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCollector, type CollectorOptions, type TestCollector } from '../helpers/collector-app.ts';
import { chatSpan, exportProtobuf, type TestSpan } from '../helpers/otlp-bodies.ts';
import { eventTotals, useTestStore } from '../helpers/test-store.ts';
import { waitFor } from '../helpers/wait.ts';

const stores = useTestStore();
const { cleanups } = stores;

async function collector(o: Partial<Omit<CollectorOptions, 'repo' | 'spoolDir'>>): Promise<TestCollector> {
  const spoolDir = mkdtempSync(join(tmpdir(), 'tollkeeper-spool-'));
  cleanups.push(() => rmSync(spoolDir, { recursive: true, force: true }));
  const c = await startCollector({ repo: stores.ts.repo, spoolDir, spoolMaxBytes: 64 * 1024 * 1024, batchSize: 5000, flushIntervalMs: 5, maxQueued: 1_000_000, ...o });
  cleanups.push(() => c.close());
  return c;
}

let keySeq = 0;
const freshKey = (name: string) => `${name}-${process.pid}-${++keySeq}`;
const spansFor = (apiKey: string, n: number): TestSpan[] =>
  Array.from({ length: n }, (_, i) => chatSpan({ 'tollkeeper.api_key.id': apiKey, 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10 + (i % 10) }));
const protobuf = (spans: readonly TestSpan[]) => Buffer.from(exportProtobuf(spans));

async function post(url: string, body: Buffer) {
  const res = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
  await res.arrayBuffer();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), connection: res.headers.get('connection') };
}

/** A raw connection that sends a request head and the first `sent` bytes of `body`, then waits. */
function partialUpload(url: string, declaredLength: number, first: Buffer): { socket: Socket; answer: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  cleanups.push(() => void socket.destroy());
  socket.write(`POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${declaredLength}\r\n\r\n`);
  socket.write(first);
  let text = '';
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n')) resolve(text.split('\r\n')[0]!);
    });
    socket.on('error', () => resolve(text));
    socket.on('close', () => resolve(text));
  });
  return { socket, answer };
}

describe('the budget of request bodies held at once', () => {
  it('many concurrent large bodies: only 200 or 429 with Retry-After, stored = acknowledged, the budget back to 0', async () => {
    const key = freshKey('many');
    const requests = Array.from({ length: 24 }, () => spansFor(key, 500));
    const bodies = requests.map(protobuf);
    // Room for about three bodies: 24 sent at once are eight times that.
    const c = await collector({ maxInflightBytes: Math.ceil(bodies[0]!.length * 3.2) });
    const replies = await Promise.all(bodies.map((b) => post(c.url, b)));
    const statuses = replies.map((r) => r.status);
    console.log(`24 bodies of ${bodies[0]!.length} bytes, budget ${c.bodyBudget.maxBytes}: ${statuses.filter((s) => s === 200).length} × 200, peak held ${c.bodyBudget.peak}, ${c.bodyBudget.refused} refused while arriving`);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(statuses).toContain(429);
    expect(statuses).toContain(200);
    for (const r of replies.filter((x) => x.status === 429)) expect(r).toMatchObject({ retryAfter: '1', connection: 'keep-alive' });
    expect(c.bodyBudget.peak).toBeLessThanOrEqual(c.bodyBudget.maxBytes);
    await waitFor(() => c.bodyBudget.held === 0, { what: 'every body to be given back' });
    // Exactly once: every acknowledged span stored once, nothing of a refused request.
    const acked = requests.filter((_, i) => statuses[i] === 200).flat();
    expect(await eventTotals(stores.ts.store, key)).toMatchObject({ rows: acked.length, distinctIds: acked.length });
    const ids = await stores.ts.store.query<{ id: string }>(`SELECT event_id AS id FROM ${stores.ts.store.table('usage_events')} WHERE api_key = {k:String}`, { k: key });
    expect(ids.map((r) => r.id).sort()).toEqual(acked.map((s) => s.traceId + s.spanId).sort());
  });

  it('refuses the request whose chunk would pass the budget, while another holds most of it, and stores the other', async () => {
    const key = freshKey('holder');
    const first = spansFor(key, 1500);
    const body = protobuf(first);
    // The first body is 70% of the budget; 85% of it arrives, then it waits.
    const c = await collector({ maxInflightBytes: Math.ceil(body.length / 0.7) });
    const sent = Math.floor(body.length * 0.85);
    const holder = partialUpload(c.url, body.length, body.subarray(0, sent));
    await waitFor(() => c.bodyBudget.held === sent, { what: 'the first body to be buffered up to where it waits' });
    const refusedKey = freshKey('refused');
    // Below the budget when its head arrives, past it once its body is buffered beside the first.
    const r = await post(c.url, protobuf(spansFor(refusedKey, 1500)));
    // Answered while its body still arrived; the rest (bounded by its Content-Length) is dropped, the connection kept.
    expect(r).toEqual({ status: 429, retryAfter: '1', connection: 'keep-alive' });
    expect(c.bodyBudget.refused).toBe(1);
    expect(c.bodyBudget.held).toBe(sent);
    holder.socket.write(body.subarray(sent));
    expect(await holder.answer).toBe('HTTP/1.1 200 OK');
    await waitFor(() => c.bodyBudget.held === 0, { what: 'the first body to be given back' });
    expect((await eventTotals(stores.ts.store, key)).rows).toBe(first.length);
    expect((await eventTotals(stores.ts.store, refusedKey)).rows).toBe(0);
  });

  it('slow uploads that announce large bodies reserve nothing: other requests are still taken', async () => {
    const c = await collector({ maxInflightBytes: 1024 * 1024 });
    // 50 uploads announcing 4 MiB each (200 MiB, 200 times the budget) that send 16 bytes and stall.
    const stalled = Array.from({ length: 50 }, () => partialUpload(c.url, 4 * 1024 * 1024, Buffer.alloc(16, 0x0a)));
    await waitFor(() => c.bodyBudget.held === 50 * 16, { what: 'the stalled uploads to be reading' });
    const key = freshKey('beside-stalled');
    const spans = spansFor(key, 200);
    expect(await post(c.url, protobuf(spans))).toMatchObject({ status: 200, retryAfter: null });
    expect((await eventTotals(stores.ts.store, key)).rows).toBe(spans.length);
    for (const s of stalled) s.socket.destroy();
    await waitFor(() => c.bodyBudget.held === 0, { what: 'the stalled uploads to give back what they held' });
  });
});
