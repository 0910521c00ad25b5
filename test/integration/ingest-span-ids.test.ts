import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { exportJson, type TestSpan } from '../helpers/otlp-bodies.ts';

// The event id is trace id + span id, so a span without valid ids (absent or all zero, both invalid in OTLP) or
// a span id used twice in one request for different content would make one call silently replace another. Those
// spans are rejected through partialSuccess, with a reason; what is accepted is stored exactly once, also on retry.

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close({ cleanup: true });
});

// One end time for every span: a repeat must be identical, which spans stamped "now" one by one are not once the
// clock ticks between them.
const END_MS = Date.now();
const span = (key: string, input: number, ids: { traceId?: string; spanId?: string }): TestSpan => ({
  endMs: END_MS,
  traceId: ids.traceId ?? '',
  spanId: ids.spanId ?? '',
  attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': input, 'tollkeeper.api_key.id': key },
});

async function send(spans: TestSpan[]): Promise<{ rejected: number; message: string }> {
  const res = await fetch(`${t.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: exportJson(spans, { 'service.name': 'span-ids' }) });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { partialSuccess?: { rejectedSpans?: string; errorMessage?: string } };
  return { rejected: Number(body.partialSuccess?.rejectedSpans ?? 0), message: body.partialSuccess?.errorMessage ?? '' };
}

async function inputOf(prefix: string): Promise<Record<string, number>> {
  const res = await fetch(`${t.apiUrl}/api/usage/top?kind=api_key&limit=100`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  const { entities } = (await res.json()) as { entities: { id: string; input_tokens: number }[] };
  return Object.fromEntries(entities.filter((e) => e.id.startsWith(prefix)).map((e) => [e.id, e.input_tokens]));
}

async function expectInput(prefix: string, want: Record<string, number>): Promise<void> {
  const got = await waitFor(async () => {
    const u = await inputOf(prefix);
    return JSON.stringify(u) === JSON.stringify(want) ? u : undefined;
  }, { timeoutMs: 20_000, what: `usage of ${prefix}*` }).catch(() => inputOf(prefix));
  expect(got).toEqual(want);
}

describe('span ids that cannot identify an event', () => {
  it('absent and all-zero ids are rejected with a reason; the valid span beside them is stored', async () => {
    const good = span('k-ids-good', 5, { traceId: '1a'.repeat(16), spanId: '1b'.repeat(8) });
    const spans = [span('k-ids-none', 11, {}), span('k-ids-zero', 33, { traceId: '0'.repeat(32), spanId: '0'.repeat(16) }), span('k-ids-zspan', 44, { traceId: '1c'.repeat(16), spanId: '0'.repeat(16) }), good];
    const first = await send(spans);
    expect(first.rejected).toBe(3);
    expect(first.message).toMatch(/trace id and span id must be set and not all zero/);
    const retry = await send(spans);
    expect(retry.rejected).toBe(3);
    await expectInput('k-ids-', { 'k-ids-good': 5 });
  });

  it('a span id repeated in one request with different content: the first is kept, the repeat rejected, on retry too', async () => {
    const ids = { traceId: '2a'.repeat(16), spanId: '2b'.repeat(8) };
    const spans = [span('k-dup-first', 7, ids), span('k-dup-second', 9, ids), span('k-dup-first', 7, ids)];
    const first = await send(spans);
    expect(first.rejected).toBe(1);
    expect(first.message).toBe(`span ${'2b'.repeat(8)}: its trace id and span id are used by another span of this request with different content (the first one is kept)`);
    expect((await send(spans)).rejected).toBe(1);
    await expectInput('k-dup-', { 'k-dup-first': 7 });
  });
});
