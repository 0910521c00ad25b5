import { Webhook } from 'standardwebhooks';
import type { Delivery } from '../../store/outbox-repo.ts';
import type { AttemptOutcome } from './outbox.ts';

export interface Subscriber {
  /** Stable id: the configured name, else derived from the URL. */
  id: string;
  url: string;
  format: 'standard' | 'slack';
  /** Secret for Standard Webhooks signatures (`whsec_<base64>`, or any other string taken as raw bytes). */
  secret?: string;
  /** Event types sent; all when absent. */
  events?: readonly string[];
  timeoutMs: number;
}

/** Signs per Standard Webhooks: `whsec_` secrets are base64 keys, anything else is used as raw bytes. */
export function signer(secret: string): Webhook {
  return secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' });
}

function retryAfterMs(h: string | null): number | undefined {
  if (!h) return undefined;
  const s = Number(h);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * One POST of a stored body. Standard payloads carry `webhook-id` (the delivery id, stable across retries),
 * `webhook-timestamp` (this attempt) and `webhook-signature`; Slack messages are posted as they are.
 * 2xx → delivered; 410 → gone (the subscriber is disabled); anything else, timeouts included, is retried.
 */
export async function postWebhook(d: Delivery, sub: Subscriber, nowMs: number): Promise<AttemptOutcome> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'tollkeeper-webhooks/1' };
  if (sub.format === 'standard' && sub.secret) {
    const at = new Date(nowMs);
    headers['webhook-id'] = d.id;
    headers['webhook-timestamp'] = String(Math.floor(nowMs / 1000));
    headers['webhook-signature'] = signer(sub.secret).sign(d.id, at, d.payload);
  }
  let res: Response;
  try {
    res = await fetch(sub.url, { method: 'POST', headers, body: d.payload, signal: AbortSignal.timeout(sub.timeoutMs), redirect: 'manual' });
  } catch (err) {
    const timeout = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return { ok: false, retriable: true, error: timeout ? `no answer within ${sub.timeoutMs} ms` : `${err instanceof Error ? err.message : String(err)}${cause}` };
  }
  // The body is not needed; reading a little of it frees the connection.
  const snippet = (await res.text().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ');
  if (res.status >= 200 && res.status < 300) return { ok: true };
  const error = `HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`;
  if (res.status === 410) return { ok: false, retriable: false, gone: true, error };
  const after = retryAfterMs(res.headers.get('retry-after'));
  return { ok: false, retriable: true, error, ...(after !== undefined ? { retryAfterMs: after } : {}) };
}
