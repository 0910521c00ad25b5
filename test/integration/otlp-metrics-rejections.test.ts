import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { ExportMetricsServiceRequest, ExportMetricsServiceResponse } from '../../collector/otlp/metrics-proto.ts';

// One bad data point (or span) costs only itself: the rest of the export is stored, the bad one is counted in
// partialSuccess with a message that names it. Bodies are written as text: JSON.stringify cannot write 1e400.

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close({ cleanup: true });
});

interface Totals { id: string; input_tokens: number; output_tokens: number; requests: number }

async function usageOf(apiKey: string): Promise<Totals | undefined> {
  const res = await fetch(`${t.apiUrl}/api/usage/top?kind=api_key&limit=100`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { entities: Totals[] }).entities.find((e) => e.id === apiKey);
}

async function expectUsage(apiKey: string, want: { input: number; output: number; requests: number }): Promise<void> {
  const got = await waitFor(async () => {
    const u = await usageOf(apiKey);
    return u && u.input_tokens === want.input && u.output_tokens === want.output && u.requests === want.requests ? u : undefined;
  }, { timeoutMs: 20_000, what: `usage of ${apiKey}` }).catch(async () => usageOf(apiKey));
  expect({ input: got?.input_tokens, output: got?.output_tokens, requests: got?.requests }).toEqual(want);
}

/** One export: a good input point (sum 40, count 2) then a point whose `field` is written as the raw JSON `literal`. */
function exportWith(apiKey: string, field: 'sum' | 'count' | 'timeUnixNano', literal: string, temporality = 1): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  const point = (type: string, sum: string, count: string, time: string) =>
    `{"attributes":[{"key":"gen_ai.token.type","value":{"stringValue":"${type}"}},{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o-mini"}},` +
    `{"key":"gen_ai.provider.name","value":{"stringValue":"openai"}},{"key":"tollkeeper.api_key.id","value":{"stringValue":"${apiKey}"}}],` +
    `"startTimeUnixNano":"${now - 60_000_000_000n}","timeUnixNano":${time},"count":${count},"sum":${sum},"bucketCounts":["1","99999999999999999999999"]}`;
  const bad = point('output', field === 'sum' ? literal : '5', field === 'count' ? literal : '"2"', field === 'timeUnixNano' ? literal : `"${now}"`);
  return `{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"metrics-rejections"}}]},` +
    `"scopeMetrics":[{"scope":{"name":"manual"},"metrics":[{"name":"gen_ai.client.token.usage","histogram":{"aggregationTemporality":${temporality},` +
    `"dataPoints":[${point('input', '40', '"2"', `"${now}"`)},${bad}]}}]}]}]}`;
}

const post = (path: string, body: string) => fetch(`${t.otlpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('POST /v1/metrics: a bad data point rejects only itself', () => {
  const cases: [string, 'sum' | 'count' | 'timeUnixNano', string, RegExp][] = [
    ['sum 1e400 (Infinity)', 'sum', '1e400', /sum.*Infinity/],
    ['sum "NaN"', 'sum', '"NaN"', /sum.*NaN/],
    ['sum -5', 'sum', '-5', /sum.*-5/],
    ['count beyond 64 bits', 'count', '"99999999999999999999999"', /count/],
    ['count 1e400', 'count', '1e400', /count/],
    ['count negative', 'count', '"-3"', /count.*-3/],
    ['count not an integer', 'count', '"2.5"', /count.*2\.5/],
    ['time 1e400', 'timeUnixNano', '1e400', /timeUnixNano/],
  ];
  cases.forEach(([what, field, literal, detail], i) => {
    it(what, async () => {
      const key = `k-bad-${i}`;
      const res = await post('/v1/metrics', exportWith(key, field, literal, i % 2 === 0 ? 1 : 2));
      expect(res.status).toBe(200);
      const body = (await res.json()) as { partialSuccess?: { rejectedDataPoints?: string; errorMessage?: string } };
      expect(body.partialSuccess?.rejectedDataPoints).toBe('1');
      const message = body.partialSuccess?.errorMessage ?? '';
      expect(message).toMatch(/^data point /);
      expect(message).toContain('dataPoints[1]');
      expect(message).toContain('gen_ai.client.token.usage');
      expect(message).toMatch(detail);
      expect(message).not.toMatch(/\bspan\b/);
      // The good point beside it is stored.
      await expectUsage(key, { input: 40, output: 0, requests: 2 });
    });
  });

  it('a point rejected after mapping (a token count out of range) is named as a data point, not a span', async () => {
    const res = await post('/v1/metrics', exportWith('k-huge', 'sum', '1e300'));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { partialSuccess: { rejectedDataPoints: string; errorMessage: string } };
    expect(body.partialSuccess.rejectedDataPoints).toBe('1');
    expect(body.partialSuccess.errorMessage).toMatch(/^data point .*dataPoints\[1\].*gen_ai\.client\.token\.usage.*gen_ai\.token\.type=output/);
    expect(body.partialSuccess.errorMessage).not.toMatch(/\bspan\b/);
    await expectUsage('k-huge', { input: 40, output: 0, requests: 2 });
  });
});

describe('POST /v1/traces: a token count of 1e400 rejects only its span', () => {
  it('keeps the other span of the request', async () => {
    const end = BigInt(Date.now()) * 1_000_000n;
    const span = (id: string, input: string) =>
      `{"traceId":"${'e'.repeat(32)}","spanId":"${id}","name":"chat","startTimeUnixNano":"${end - 1_000_000n}","endTimeUnixNano":"${end}","attributes":[` +
      `{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o-mini"}},` +
      `{"key":"gen_ai.provider.name","value":{"stringValue":"openai"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":${input}}},` +
      `{"key":"tollkeeper.api_key.id","value":{"stringValue":"k-span-1e400"}}]}`;
    const body = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"spans-1e400"}}]},"scopeSpans":[{"spans":[${span('1'.repeat(16), '1e400')},${span('2'.repeat(16), '"9"')}]}]}]}`;
    const res = await post('/v1/traces', body);
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    expect(answer.partialSuccess.rejectedSpans).toBe('1');
    expect(answer.partialSuccess.errorMessage).toMatch(/1111111111111111.*input_tokens.*Infinity/);
    await expectUsage('k-span-1e400', { input: 9, output: 0, requests: 1 });
  });
});

describe('POST /v1/metrics in protobuf: a NaN sum or a count beyond 2^53 rejects only its point', () => {
  it('stores the good point and names the bad one', async () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    const attrs = (type: string) => [
      { key: 'gen_ai.token.type', value: { stringValue: type } },
      { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
      { key: 'tollkeeper.api_key.id', value: { stringValue: 'k-pb-bad' } },
    ];
    const point = (type: string, sum: number, count: string) => ({ attributes: attrs(type), startTimeUnixNano: String(now - 60_000_000_000n), timeUnixNano: String(now), count, sum });
    const message = ExportMetricsServiceRequest.fromObject({
      resourceMetrics: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'metrics-pb-bad' } }] },
        scopeMetrics: [{ scope: { name: 'manual' }, metrics: [{ name: 'gen_ai.client.token.usage', histogram: { aggregationTemporality: 2, dataPoints: [point('input', 12, '3'), point('output', NaN, '3'), point('output', 4, '18446744073709551615')] } }] }],
      }],
    });
    const res = await fetch(`${t.otlpUrl}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: ExportMetricsServiceRequest.encode(message).finish() });
    expect(res.status).toBe(200);
    const answer = ExportMetricsServiceResponse.decode(new Uint8Array(await res.arrayBuffer())).toJSON() as { partialSuccess: { rejectedDataPoints: string; errorMessage: string } };
    expect(answer.partialSuccess.rejectedDataPoints).toBe('2');
    expect(answer.partialSuccess.errorMessage).toMatch(/^data point .*dataPoints\[1\] of gen_ai\.client\.token\.usage: sum: .*NaN/);
    await expectUsage('k-pb-bad', { input: 12, output: 0, requests: 3 });
  });
});
