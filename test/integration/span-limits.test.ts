// Per-span limits answer through partialSuccess for that span only; the spans beside it are stored. Identity
// values are length-limited the same way (a 7 MB key id is rejected, naming the attribute).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExportTraceServiceResponse } from '../../collector/otlp/proto.ts';
import { startCollector } from '../helpers/collector-app.ts';
import { chatSpan, exportJson, exportProtobuf, type TestSpan } from '../helpers/otlp-bodies.ts';
import { eventTotals, useTestStore } from '../helpers/test-store.ts';

const stores = useTestStore();

async function collector() {
  const spoolDir = mkdtempSync(join(tmpdir(), 'tk-limits-'));
  const c = await startCollector({ repo: stores.ts.repo, spoolDir, spoolMaxBytes: 64 * 1024 * 1024, batchSize: 500, flushIntervalMs: 5, maxQueued: 100_000 });
  stores.cleanups.push(async () => {
    await c.close();
    rmSync(spoolDir, { recursive: true, force: true });
  });
  return c;
}

interface Partial {
  status: number;
  rejectedSpans: number;
  errorMessage: string;
}

async function send(url: string, format: 'json' | 'protobuf', spans: TestSpan[], resource?: Record<string, unknown>): Promise<Partial> {
  const body = format === 'json' ? exportJson(spans, resource) : exportProtobuf(spans, resource);
  const r = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf' }, body });
  if (r.status !== 200) return { status: r.status, rejectedSpans: 0, errorMessage: await r.text() };
  if (format === 'json') {
    const j = (await r.json()) as { partialSuccess?: { rejectedSpans?: string; errorMessage?: string } };
    return { status: 200, rejectedSpans: Number(j.partialSuccess?.rejectedSpans ?? 0), errorMessage: j.partialSuccess?.errorMessage ?? '' };
  }
  const m = ExportTraceServiceResponse.decode(new Uint8Array(await r.arrayBuffer())) as unknown as { partialSuccess?: { rejectedSpans?: number | { toNumber(): number }; errorMessage?: string } };
  const n = m.partialSuccess?.rejectedSpans ?? 0;
  return { status: 200, rejectedSpans: typeof n === 'number' ? n : n.toNumber(), errorMessage: m.partialSuccess?.errorMessage ?? '' };
}

const metered = (key: string, extra: Record<string, unknown> = {}) => chatSpan({ 'api_key.id': key, 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10, ...extra });

function nested(levels: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}

describe.each(['json', 'protobuf'] as const)('per-span limits over HTTP (%s)', (format) => {
  it('a span with more than 1024 attributes is rejected alone; the good spans are stored', async () => {
    const c = await collector();
    const key = `limits-attrs-${format}-${process.pid}`;
    const wide = Object.fromEntries(Array.from({ length: 1030 }, (_, i) => [`extra.${i}`, i]));
    const r = await send(c.url, format, [metered(key), metered(key, wide), metered(key)]);
    expect(r).toMatchObject({ status: 200, rejectedSpans: 1 });
    expect(r.errorMessage).toMatch(/spans\[\d+\]\.attributes: more than 1024 attributes/);
    expect((await eventTotals(stores.ts.store, key)).rows).toBe(2);
  });

  it('a span nested deeper than 32 levels is rejected alone', async () => {
    const c = await collector();
    const key = `limits-deep-${format}-${process.pid}`;
    const r = await send(c.url, format, [metered(key), metered(key, { deep: nested(40) })]);
    expect(r).toMatchObject({ status: 200, rejectedSpans: 1 });
    expect(r.errorMessage).toMatch(/nested deeper than 32 levels/);
    expect((await eventTotals(stores.ts.store, key)).rows).toBe(1);
  });

  it('a 7 MB key id is rejected naming the attribute; the spans beside it are stored', async () => {
    const c = await collector();
    const key = `limits-id-${format}-${process.pid}`;
    const huge = 'k'.repeat(7 * 1024 * 1024);
    const r = await send(c.url, format, [metered(key), metered(huge), metered(key)]);
    expect(r).toMatchObject({ status: 200, rejectedSpans: 1 });
    expect(r.errorMessage).toMatch(/api_key value of attribute "api_key\.id" is 7340032 characters long; identity values may have at most 256/);
    expect((await eventTotals(stores.ts.store, key)).rows).toBe(2);
    const stored = await stores.ts.store.query<{ n: number }>(`SELECT count() AS n FROM ${stores.ts.store.table('usage_events')} WHERE length(api_key) > 256`);
    expect(stored[0]!.n).toBe(0);
  });

  it('an identity value too long on the resource rejects the spans it applies to', async () => {
    const c = await collector();
    const key = `limits-res-${format}-${process.pid}`;
    const r = await send(c.url, format, [metered(key), metered(key)], { 'service.name': 'svc', 'tenant.id': 't'.repeat(300) });
    expect(r).toMatchObject({ status: 200, rejectedSpans: 2 });
    expect(r.errorMessage).toContain('attribute "tenant.id" is 300 characters long');
    expect((await eventTotals(stores.ts.store, key)).rows).toBe(0);
  });

  it('an identity value of exactly 256 characters is kept', async () => {
    const c = await collector();
    const key = 'x'.repeat(256 - String(process.pid).length - format.length) + format + process.pid;
    expect(key).toHaveLength(256);
    expect(await send(c.url, format, [metered(key)])).toMatchObject({ status: 200, rejectedSpans: 0 });
    expect((await eventTotals(stores.ts.store, key)).rows).toBe(1);
  });
});
