/** Minimal OTLP/JSON bodies for benchmark traffic: chat spans with an exact span cost, unique ids per process. */
let seq = 0;
const prefix = (process.pid % 0xffff).toString(16).padStart(4, '0');

export interface ChatSpan {
  apiKey: string;
  tenant?: string;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  endMs: number;
  /** The admission reservation the call was made under (tollkeeper.reservation.id). */
  reservationId?: string;
}

export function otlpJson(spans: readonly ChatSpan[]): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bench' } }] },
        scopeSpans: [
          {
            spans: spans.map((s) => {
              seq++;
              const end = BigInt(s.endMs) * 1_000_000n;
              const attrs: [string, object][] = [
                ['gen_ai.operation.name', { stringValue: 'chat' }],
                ['gen_ai.provider.name', { stringValue: 'openai' }],
                ['gen_ai.request.model', { stringValue: 'gpt-4o' }],
                ['gen_ai.usage.input_tokens', { intValue: s.inputTokens }],
                ['gen_ai.usage.output_tokens', { intValue: s.outputTokens }],
                ['gen_ai.usage.cost', { doubleValue: s.costUsd }],
                ['tollkeeper.api_key.id', { stringValue: s.apiKey }],
              ];
              if (s.tenant) attrs.push(['tenant.id', { stringValue: s.tenant }]);
              if (s.reservationId) attrs.push(['tollkeeper.reservation.id', { stringValue: s.reservationId }]);
              return {
                traceId: prefix + seq.toString(16).padStart(28, '0'),
                spanId: seq.toString(16).padStart(16, '0'),
                name: 'chat gpt-4o',
                startTimeUnixNano: String(end - 800_000_000n),
                endTimeUnixNano: String(end),
                attributes: attrs.map(([key, value]) => ({ key, value })),
              };
            }),
          },
        ],
      },
    ],
  });
}

export async function postJson(otlpUrl: string, body: string): Promise<number> {
  const res = await fetch(`${otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await res.arrayBuffer();
  return res.status;
}

/** Long-polls the revocation list until `id` is on it; resolves with the time it was seen (epoch ms). */
export async function waitRevoked(apiUrl: string, token: string, id: string, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  let etag = '';
  while (Date.now() < deadline) {
    const res = await fetch(`${apiUrl}/v1/revocations?wait=2`, { headers: { authorization: `Bearer ${token}`, ...(etag ? { 'if-none-match': etag } : {}) } });
    if (res.status === 200) {
      const body = (await res.json()) as { entries: { id: string }[] };
      if (body.entries.some((e) => e.id === id)) return Date.now();
      etag = res.headers.get('etag') ?? '';
    } else await res.arrayBuffer();
  }
  return null;
}
