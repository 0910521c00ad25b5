import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';

// With identity.required, a metrics data point without the identity is rejected by the span ingest it goes through:
// the sender must read which data point it was, not the id of a span it never sent.

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ yaml: 'identity:\n  required: [tenant]\n' });
});
afterAll(async () => {
  await t.close({ cleanup: true });
});

describe('POST /v1/metrics with identity.required', () => {
  it('names the point that lacks the identity as a data point, without speaking of spans', async () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    const point = {
      attributes: [
        { key: 'gen_ai.token.type', value: { stringValue: 'input' } },
        { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
        { key: 'tollkeeper.api_key.id', value: { stringValue: 'k-no-tenant' } },
      ],
      startTimeUnixNano: String(now - 60_000_000_000n),
      timeUnixNano: String(now),
      count: '1',
      sum: 5,
    };
    const body = JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'gen_ai.client.token.usage', histogram: { aggregationTemporality: 1, dataPoints: [point] } }] }] }] });
    const res = await fetch(`${t.otlpUrl}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { partialSuccess: { rejectedDataPoints: string; errorMessage: string } };
    expect(answer.partialSuccess.rejectedDataPoints).toBe('1');
    expect(answer.partialSuccess.errorMessage).toMatch(/^data point resourceMetrics\[0\]\.scopeMetrics\[0\]\.metrics\[0\]\.dataPoints\[0\] of gen_ai\.client\.token\.usage \{.*tollkeeper\.api_key\.id=k-no-tenant.*\}: no tenant identity on the data point or its resource/);
    expect(answer.partialSuccess.errorMessage).not.toMatch(/\bspan\b/);
  });
});
