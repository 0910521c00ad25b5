import { gzipSync } from 'node:zlib';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcStatus } from '../../collector/otlp/proto.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { len, tag } from '../helpers/wire-bytes.ts';
import { waitFor } from '../helpers/wait.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ yaml: 'ingest: { body_limit_mib: 1 }' });
});
afterAll(async () => {
  await t.close({ cleanup: true });
});

function otlpJson(spans: object[]): string {
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeSpans: [{ spans }] }] });
}

let seq = 0;
function chatSpan(attrs: Record<string, number | string>): object {
  seq++;
  const end = BigInt(Date.now()) * 1_000_000n;
  return {
    traceId: seq.toString(16).padStart(32, 'a'),
    spanId: seq.toString(16).padStart(16, 'b'),
    name: 'chat',
    startTimeUnixNano: String(end - 1_000_000n),
    endTimeUnixNano: String(end),
    attributes: Object.entries({ 'gen_ai.operation.name': 'chat', ...attrs }).map(([key, v]) => ({ key, value: typeof v === 'number' ? { intValue: v } : { stringValue: v } })),
  };
}

async function post(body: string | Buffer, headers: Record<string, string>) {
  const res = await fetch(`${t.otlpUrl}/v1/traces`, { method: 'POST', headers, body });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('OTLP/HTTP error handling', () => {
  it('answers 400 with an OTLP status for malformed JSON and protobuf', async () => {
    const json = await post('{"resourceSpans": [', { 'content-type': 'application/json' });
    expect(json.status).toBe(400);
    expect(JSON.parse(json.text)).toMatchObject({ code: 3, message: expect.stringMatching(/JSON/i) as unknown });
    const pb = await post(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), { 'content-type': 'application/x-protobuf' });
    expect(pb.status).toBe(400);
    expect(pb.headers.get('content-type')).toContain('application/x-protobuf');
  });

  it('answers 400 naming the fault for protobuf that breaks the wire format, on traces, metrics and logs', async () => {
    const fieldZero = Buffer.from([...len(1, len(2, len(2, [0x00, 0x01])))]);
    const elevenByteVarint = Buffer.from([...len(1, len(2, len(2, [...tag(20, 0), ...Array<number>(10).fill(0xff), 0x01])))]);
    const deepGroups = Buffer.from(Array.from({ length: 100_000 }, () => tag(20, 3)).flat());
    const cases: [string, Buffer, RegExp][] = [
      ['traces', fieldZero, /^invalid protobuf: field number 0 at byte \d+/],
      ['metrics', elevenByteVarint, /^invalid protobuf metrics request: varint at byte \d+ is longer than 10 bytes/],
      ['traces', deepGroups, /^invalid protobuf: groups nested deeper than 100 levels/],
      ['metrics', deepGroups, /^invalid protobuf metrics request: groups nested deeper than 100 levels/],
      ['logs', fieldZero, /^invalid protobuf logs request/],
    ];
    for (const [signal, body, message] of cases) {
      const res = await fetch(`${t.otlpUrl}/v1/${signal}`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
      expect(res.status, signal).toBe(400);
      expect(RpcStatus.toObject(RpcStatus.decode(Buffer.from(await res.arrayBuffer()))).message, signal).toMatch(message);
    }
  });

  it('answers 415 for unknown content types and encodings', async () => {
    expect((await post('x', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post('x', { 'content-type': 'application/json', 'content-encoding': 'br' })).status).toBe(415);
  });

  it('answers OTLP metrics and logs in OTLP form (logs: not ingested)', async () => {
    const metrics = await fetch(`${t.otlpUrl}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(metrics.status).toBe(200);
    const logs = await fetch(`${t.otlpUrl}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(logs.status).toBe(200);
    expect(await logs.text()).toContain('not ingested');
  });

  it('answers 413 and closes the connection for an oversized body', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 0x20);
    const r = await post(big, { 'content-type': 'application/json' });
    expect(r.status).toBe(413);
    expect(r.headers.get('connection')).toBe('close');
  });

  it('answers 413 for a gzip bomb without inflating it all', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const r = await post(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(r.status).toBe(413);
  });

  it('answers 400 for a body that is not gzip though it says so', async () => {
    expect((await post('not gzip', { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status).toBe(400);
  });

  it('accepts gzip and reports unusable spans through partialSuccess while storing the rest', async () => {
    const good = chatSpan({ 'gen_ai.usage.input_tokens': 10, 'tollkeeper.api_key.id': 'partial-key' });
    const bad = chatSpan({ 'gen_ai.usage.input_tokens': -5, 'tollkeeper.api_key.id': 'partial-key' });
    const r = await post(gzipSync(otlpJson([good, bad])), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    expect(body.partialSuccess.rejectedSpans).toBe('1');
    expect(body.partialSuccess.errorMessage).toContain('gen_ai.usage.input_tokens');
    const rows = await waitFor(async () => {
      const r2 = await t.app.store.query<{ n: number; tokens: number }>(
        `SELECT count() AS n, sum(input_tokens) AS tokens FROM ${t.app.store.table('usage_events')} WHERE api_key = 'partial-key'`,
      );
      return r2[0]?.n === 1 ? r2 : undefined;
    });
    expect(rows[0]!.tokens).toBe(10);
  });

  it('survives a client that aborts mid-upload', async () => {
    await new Promise<void>((resolve) => {
      const url = new URL(`${t.otlpUrl}/v1/traces`);
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '100000' } });
      req.on('error', () => resolve());
      req.write('{"resourceSpans":[');
      setImmediate(() => {
        req.destroy();
        resolve();
      });
    });
    const health = await fetch(`${t.otlpUrl}/healthz`);
    expect(health.status).toBe(200);
  });
});

describe('exactly once', () => {
  it('does not double count a re-sent export, in raw events nor in the rollup', async () => {
    const spans = [chatSpan({ 'gen_ai.usage.input_tokens': 100, 'tollkeeper.api_key.id': 'retry-key' }), chatSpan({ 'gen_ai.usage.input_tokens': 50, 'tollkeeper.api_key.id': 'retry-key' })];
    const body = otlpJson(spans);
    for (let i = 0; i < 3; i++) expect((await post(body, { 'content-type': 'application/json' })).status).toBe(200);
    await Promise.all([1, 2].map(() => post(body, { 'content-type': 'application/json' })));
    const raw = await t.app.store.query<{ n: number; tokens: number }>(`SELECT count() AS n, sum(input_tokens) AS tokens FROM ${t.app.store.table('usage_events')} WHERE api_key = 'retry-key'`);
    expect(raw[0]).toEqual({ n: 2, tokens: 150 });
    const rollup = await t.app.store.query<{ tokens: number; requests: number }>(
      `SELECT sum(input_tokens) AS tokens, sum(requests) AS requests FROM ${t.app.store.table('usage_minute')} WHERE kind = 'api_key' AND entity = 'retry-key'`,
    );
    expect(rollup[0]).toEqual({ tokens: 150, requests: 2 });
  });
});
