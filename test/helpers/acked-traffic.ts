// An OTLP client that remembers what the collector acknowledged: every span of a body answered 200 is "acked"
// (the product then owes it, exactly once); a body answered otherwise, or cut off by a dying server, is kept and
// sent again first, as OTLP exporters retry. Span ids are fresh per span (event id = trace id + span id).
import { chatSpan, exportJson } from './otlp-bodies.ts';

interface Body {
  ids: string[];
  text: string;
}

export interface AckedTraffic {
  /** Event ids answered 200 at least once. */
  acked: Set<string>;
  /** Event ids ever sent (acknowledged or not): what the store may hold beyond `acked`. */
  sent: Set<string>;
  /** Bodies not acknowledged yet, resent before new ones. */
  unacked(): number;
  statuses: Map<number | string, number>;
  /**
   * Sends one body (an unacknowledged one first, else a new one of `spans` spans). Returns its status, or the
   * error code when the connection failed (the server died or is not there).
   */
  sendOne(otlpUrl: string, spans: number): Promise<number | string>;
  /** Adds `503` answers with their Retry-After to `retryAfters`. */
  retryAfters: number[];
}

export function ackedTraffic(apiKey: string): AckedTraffic {
  const acked = new Set<string>();
  const sent = new Set<string>();
  const retry: Body[] = [];
  const statuses = new Map<number | string, number>();
  const retryAfters: number[] = [];

  function newBody(spans: number): Body {
    const list = Array.from({ length: spans }, () => chatSpan({ 'api_key.id': apiKey, 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 2 }));
    return { ids: list.map((s) => s.traceId + s.spanId), text: exportJson(list) };
  }

  return {
    acked,
    sent,
    statuses,
    retryAfters,
    unacked: () => retry.length,
    async sendOne(otlpUrl, spans) {
      const body = retry.shift() ?? newBody(spans);
      for (const id of body.ids) sent.add(id);
      let status: number | string;
      try {
        const r = await fetch(`${otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body.text, signal: AbortSignal.timeout(30_000) });
        await r.arrayBuffer();
        status = r.status;
        if (status === 503) retryAfters.push(Number(r.headers.get('retry-after')));
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause;
        status = cause?.code ?? (err as Error).name;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 200) for (const id of body.ids) acked.add(id);
      else retry.push(body);
      return status;
    },
  };
}
