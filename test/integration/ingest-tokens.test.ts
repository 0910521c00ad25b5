import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ExportResult } from '@opentelemetry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { api } from '../helpers/admin-api.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { chatSpan, exportJson } from '../helpers/otlp-bodies.ts';
import { waitFor } from '../helpers/wait.ts';

// Ingest tokens end to end: the real app over HTTP on 127.0.0.1, the real OTel SDK exporter sending the token header,
// the admin API creating and revoking tokens, and the counters read back from the store.

const ACME_TOKEN = 'acme-ingest-token-0123456789';

let t: TestApp | undefined;
const shutdowns: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of shutdowns.splice(0)) await s();
  await t?.close({ cleanup: true });
  t = undefined;
});

/** A real SDK tracer for one service, exporting protobuf with the token header; every export's result is kept. */
function sdk(otlpUrl: string, service: string, token: string) {
  const results: ExportResult[] = [];
  const exporter = new OTLPTraceExporter({ url: `${otlpUrl}/v1/traces`, headers: { authorization: `Bearer ${token}` } });
  const recording: SpanExporter = {
    export: (spans: ReadableSpan[], done: (r: ExportResult) => void) => exporter.export(spans, (r) => (results.push(r), done(r))),
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush(),
  };
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new SimpleSpanProcessor(recording)] });
  shutdowns.push(() => provider.shutdown());
  const tracer = provider.getTracer('tollkeeper-test', '1.0.0');
  return {
    results,
    /** One chat call for a tenant and key; resolves once the exporter has its answer. */
    async chat(tenant: string, apiKey: string): Promise<ExportResult> {
      const before = results.length;
      tracer
        .startSpan('chat gpt-4o', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 20, 'tenant.id': tenant, 'tollkeeper.api_key.id': apiKey } })
        .end();
      return waitFor(() => results[before], { what: 'the export result' });
    },
  };
}

async function stored(app: TestApp, apiKey: string): Promise<number> {
  const rows = await app.app.store.query<{ n: number }>(`SELECT count() AS n FROM ${app.app.store.table('usage_events')} WHERE api_key = {k:String}`, { k: apiKey });
  return Number(rows[0]?.n ?? 0);
}

async function postJson(app: TestApp, body: string, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${app.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('ingest tokens', () => {
  it('a scoped token stores usage inside its scope and rejects the rest through partialSuccess, counted per token and reason', async () => {
    t = await startApp({ startLoop: false, yaml: `ingest:\n  tokens:\n    - { name: acme-chat, token: ${ACME_TOKEN}, tenants: [acme], services: [chat-api] }\n` });
    const chat = sdk(t.otlpUrl, 'chat-api', ACME_TOKEN);
    expect((await chat.chat('acme', 'k-acme')).code).toBe(0);
    // Outside the scope: the SDK's export succeeds (OTLP partial success is not a failure), the span is not stored.
    expect((await chat.chat('globex', 'k-globex')).code).toBe(0);
    await waitFor(async () => (await stored(t!, 'k-acme')) === 1, { what: 'the in-scope span stored' });

    // The same answer as the SDK got, read directly: rejected spans and a message naming the reason; neighbours stored.
    const body = exportJson([chatSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 5, 'tenant.id': 'acme', 'tollkeeper.api_key.id': 'k-acme-2' }), chatSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 5, 'tenant.id': 'initech', 'tollkeeper.api_key.id': 'k-initech' })], { 'service.name': 'chat-api' });
    const answer = await postJson(t, body, ACME_TOKEN);
    expect(answer.status).toBe(200);
    expect(answer.body.partialSuccess).toEqual({ rejectedSpans: '1', errorMessage: expect.stringMatching(/^span [0-9a-f]{16}: tenant "initech" is outside the scope of ingest token "acme-chat" \(tenant must be one of "acme"\)$/) as string });
    const otherService = exportJson([chatSpan({ 'gen_ai.usage.input_tokens': 5, 'tenant.id': 'acme', 'tollkeeper.api_key.id': 'k-acme-3' })], { 'service.name': 'billing' });
    expect((await postJson(t, otherService, ACME_TOKEN)).body.partialSuccess).toMatchObject({ rejectedSpans: '1', errorMessage: expect.stringContaining('service "billing" is outside the scope') as string });

    await waitFor(async () => (await stored(t!, 'k-acme-2')) === 1, { what: 'the neighbour stored' });
    expect([await stored(t, 'k-globex'), await stored(t, 'k-initech'), await stored(t, 'k-acme-3')]).toEqual([0, 0, 0]);

    expect(t.app.ingest!.counters.rejectedByToken['acme-chat']).toEqual({ out_of_scope_tenant: 2, out_of_scope_service: 1 });
    await t.app.stats!.flush();
    const stats = await api(t, 'GET', '/api/usage/ingest');
    expect(stats.body.token_spans_rejected).toEqual({ 'acme-chat': { out_of_scope_tenant: 2, out_of_scope_service: 1 } });
    expect(stats.body.token_spans_received).toEqual({ 'acme-chat': 5 });
    expect(stats.body.spans_rejected).toMatchObject({ out_of_scope_tenant: 2, out_of_scope_service: 1 });
    // The same counts for Prometheus, on the collector's own port.
    const scraped = await (await fetch(`${t.otlpUrl}/metrics`, { headers: { authorization: `Bearer ${t.adminToken}` } })).text();
    expect(scraped).toContain('tollkeeper_ingest_token_spans_rejected_total{token="acme-chat",reason="out_of_scope_tenant"} 2');
    expect(scraped).toContain('tollkeeper_ingest_token_spans_received_total{token="acme-chat"} 5');
  });

  it('once a token is defined, a request without one or with an unknown one gets 401, counted by reason', async () => {
    t = await startApp({ startLoop: false, yaml: `ingest:\n  tokens:\n    - { name: acme-chat, token: ${ACME_TOKEN} }\n` });
    const body = exportJson([chatSpan({ 'gen_ai.usage.input_tokens': 5, 'tollkeeper.api_key.id': 'k-none' })]);
    const none = await postJson(t, body);
    expect(none.status).toBe(401);
    expect(none.body.message).toContain('an ingest token is required');
    expect((await postJson(t, body, 'not-a-token-we-know-0123')).body.message).toBe('unknown ingest token');
    // The header a proxy-friendly sender uses instead of Authorization.
    const viaHeader = await fetch(`${t.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tollkeeper-ingest-token': ACME_TOKEN }, body });
    expect(viaHeader.status).toBe(200);
    expect(t.app.ingest!.counters.unauthorized).toEqual({ missing: 1, unknown: 1 });
    await waitFor(async () => (await stored(t!, 'k-none')) === 1, { what: 'the span sent with the header' });
  });

  it('admin API round trip: create shows the secret once, list never does, revoke turns the SDK away with 401; it survives a restart', async () => {
    t = await startApp({ startLoop: false });
    expect((await api(t, 'GET', '/api/ingest-tokens')).body).toEqual({ required: false, tokens: [] });

    const created = await api(t, 'POST', '/api/ingest-tokens', { name: 'batch', tenants: ['acme'], api_keys: ['k-batch'] });
    expect(created.status).toBe(201);
    const secret = created.body.token as string;
    expect(secret).toMatch(/^tki_[A-Za-z0-9_-]{32}$/);
    expect(created.body).toMatchObject({ name: 'batch', source: 'api', state: 'active', scope: { tenants: ['acme'], api_keys: ['k-batch'] }, version: 1, otlp_headers: `Authorization=Bearer ${secret}` });
    expect((await api(t, 'POST', '/api/ingest-tokens', { name: 'batch' })).status).toBe(409);
    const list = await api(t, 'GET', '/api/ingest-tokens');
    expect(list.body.required).toBe(true);
    expect(JSON.stringify(list.body)).not.toContain(secret);
    const rows = await t.app.store.query<{ token_hash: string }>(`SELECT token_hash FROM ${t.app.store.table('ingest_tokens')}`);
    expect(JSON.stringify(rows)).not.toContain(secret);

    const batch = sdk(t.otlpUrl, 'batch-worker', secret);
    expect((await batch.chat('acme', 'k-batch')).code).toBe(0);
    await waitFor(async () => (await stored(t!, 'k-batch')) === 1, { what: 'the span of the new token' });

    // Restarted on the same data: the token is read back from the store.
    await t.close();
    t = await startApp({ startLoop: false, dataDir: t.dataDir, database: t.database });
    const again = sdk(t.otlpUrl, 'batch-worker', secret);
    expect((await again.chat('acme', 'k-batch')).code).toBe(0);
    await waitFor(async () => (await stored(t!, 'k-batch')) === 2, { what: 'the span after the restart' });

    const revoked = await api(t, 'DELETE', '/api/ingest-tokens/batch');
    expect(revoked.body).toMatchObject({ name: 'batch', state: 'revoked', version: 2 });
    const refused = await again.chat('acme', 'k-batch');
    expect(refused.code).toBe(1);
    expect((refused.error as { code?: number } | undefined)?.code).toBe(401);
    const direct = await postJson(t, exportJson([chatSpan({ 'gen_ai.usage.input_tokens': 1, 'tenant.id': 'acme', 'tollkeeper.api_key.id': 'k-batch' })]), secret);
    expect([direct.status, direct.body.message]).toEqual([401, 'ingest token "batch" was revoked; ask an operator for a new one']);
    expect(t.app.ingest!.counters.unauthorized.revoked).toBe(2);
    // Revoking the last token does not open ingest again.
    expect((await postJson(t, exportJson([chatSpan({ 'gen_ai.usage.input_tokens': 1 })]))).status).toBe(401);
    expect((await api(t, 'DELETE', '/api/ingest-tokens/batch')).status).toBe(404);
    expect(await stored(t, 'k-batch')).toBe(2);
  });
});
