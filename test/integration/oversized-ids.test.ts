// An id of 1 MB wherever an id goes in: a clear 4xx naming the limit, never a crash, and the app keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { chatSpan, exportJson } from '../helpers/otlp-bodies.ts';

const HUGE = 'k'.repeat(1024 * 1024);
const LONG = 'k'.repeat(257);
let t: TestApp;
beforeAll(async () => {
  t = await startApp({ startLoop: false });
});
afterAll(async () => {
  await t?.close({ cleanup: true });
});

async function call(url: string, init: RequestInit = {}) {
  const res = await fetch(url, { ...init, headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
  return { status: res.status, text: await res.text() };
}

describe('oversized ids', () => {
  it.each([
    ['a revocation body', () => call(`${t.apiUrl}/v1/enforcement`, { method: 'POST', body: JSON.stringify({ action: 'revoke', kind: 'api_key', id: LONG }) })],
    ['a 1 MB revocation body', () => call(`${t.apiUrl}/v1/enforcement`, { method: 'POST', body: JSON.stringify({ action: 'revoke', kind: 'api_key', id: HUGE }) })],
    ['an override path', () => call(`${t.apiUrl}/api/policies/p/overrides/${LONG}`, { method: 'PUT', body: JSON.stringify({ limits: { requests: 1 } }) })],
    ['a 1 MB URL', () => call(`${t.apiUrl}/v1/enforcement/api_key/${HUGE}`)],
    ['a 1 MB forward-auth header', () => call(`${t.gatewayUrl}/v1/authorize`, { headers: { authorization: `Bearer ${t.gatewayToken}`, 'x-tollkeeper-api-key': HUGE } })],
  ])('%s is refused with a 4xx', async (_what, send) => {
    const r = await send();
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.text.length).toBeLessThan(4096);
  });

  it('a span with a 1 MB id is refused by name and length; the span beside it is stored', async () => {
    const body = exportJson([chatSpan({ 'tollkeeper.api_key.id': HUGE, 'gen_ai.usage.input_tokens': 1 }), chatSpan({ 'tollkeeper.api_key.id': 'k-ok', 'gen_ai.usage.input_tokens': 1 })]);
    const res = await fetch(`${t.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const json = (await res.json()) as { partialSuccess?: { rejectedSpans?: number | string; errorMessage?: string } };
    expect(res.status).toBe(200);
    expect(Number(json.partialSuccess?.rejectedSpans)).toBe(1);
    expect(json.partialSuccess?.errorMessage).toMatch(/1048576/);
    expect(json.partialSuccess?.errorMessage?.length).toBeLessThan(4096);
    expect((await call(`${t.apiUrl}/api/policies`)).status).toBe(200);
  });
});
