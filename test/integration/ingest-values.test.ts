import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

// A token count that cannot be used rejects its own span, with a message showing the value as it was sent; the
// other spans of the export are stored, once, also when the export is retried.

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close({ cleanup: true });
});

let seq = 0;
const now = BigInt(Date.now()) * 1_000_000n;
/** A chat span whose input token count is the raw JSON `value` (an AnyValue written as text). */
function span(key: string, value: string): string {
  seq++;
  return `{"traceId":"${seq.toString(16).padStart(32, 'c')}","spanId":"${seq.toString(16).padStart(16, 'd')}","name":"chat","startTimeUnixNano":"${now - 1_000_000n}","endTimeUnixNano":"${now}","attributes":[` +
    `{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},` +
    `{"key":"gen_ai.provider.name","value":{"stringValue":"openai"}},{"key":"gen_ai.usage.input_tokens","value":${value}},` +
    `{"key":"tollkeeper.api_key.id","value":{"stringValue":"${key}"}}]}`;
}
const request = (spans: string[]) => `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"values"}}]},"scopeSpans":[{"spans":[${spans.join(',')}]}]}]}`;

async function send(body: string): Promise<{ rejected: number; message: string }> {
  const res = await fetch(`${t.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(res.status).toBe(200);
  const answer = (await res.json()) as { partialSuccess?: { rejectedSpans?: string; errorMessage?: string } };
  return { rejected: Number(answer.partialSuccess?.rejectedSpans ?? 0), message: answer.partialSuccess?.errorMessage ?? '' };
}

async function inputOf(key: string): Promise<number | undefined> {
  const res = await fetch(`${t.apiUrl}/api/usage/top?kind=api_key&limit=100`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  return ((await res.json()) as { entities: { id: string; input_tokens: number }[] }).entities.find((e) => e.id === key)?.input_tokens;
}

describe('token counts that cannot be used reject only their span', () => {
  const cases: [string, string, RegExp][] = [
    // Past int64 the value is read as a double (as a JSON number that large is): shown as one.
    ['intValue 2^63 as a string', '{"intValue":"9223372036854775808"}', /got 9223372036854776000$/],
    ['intValue of 23 digits as a string', '{"intValue":"99999999999999999999999"}', /got 1e\+23$/],
    ['intValue 2^63 - 1', '{"intValue":"9223372036854775807"}', /got 9223372036854775807\b/],
    ['a boolean', '{"boolValue":true}', /got true$/],
    ['a string that is no number', '{"stringValue":"ten"}', /got "ten"$/],
    ['an array', '{"arrayValue":{"values":[{"intValue":"5"}]}}', /got \[5\]$/],
  ];
  cases.forEach(([what, value, shown], i) => {
    it(what, async () => {
      const key = `k-values-${i}`;
      const body = request([span(key, value), span(key, '{"intValue":"12"}')]);
      for (let attempt = 0; attempt < 2; attempt++) {
        const answer = await send(body);
        expect(answer.rejected).toBe(1);
        expect(answer.message).toMatch(/gen_ai\.usage\.input_tokens must be a whole number of tokens between 0 and 100000000/);
        expect(answer.message).toMatch(shown);
      }
      expect(await waitFor(async () => ((await inputOf(key)) === 12 ? 12 : undefined), { timeoutMs: 20_000, what: `usage of ${key}` })).toBe(12);
    });
  });

  it('a cost that is no amount shows the value as sent', async () => {
    const key = 'k-values-cost';
    const bad = span(key, '{"intValue":"3"}').replace('"attributes":[', '"attributes":[{"key":"gen_ai.usage.cost","value":{"stringValue":"free"}},');
    const answer = await send(request([bad, span(key, '{"intValue":"12"}')]));
    expect(answer.rejected).toBe(1);
    expect(answer.message).toMatch(/gen_ai\.usage\.cost must be a finite amount >= 0, got "free"$/);
    expect(await waitFor(async () => ((await inputOf(key)) === 12 ? 12 : undefined), { timeoutMs: 20_000, what: `usage of ${key}` })).toBe(12);
  });
});
