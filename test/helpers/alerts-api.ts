import type { TestApp } from './app.ts';

/** Calls the API of a test app with the admin token; JSON in, JSON out. */
export async function api(app: TestApp, method: string, path: string, body?: unknown, token = app.adminToken) {
  const res = await fetch(`${app.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, any> };
}

export interface DeliveryJson {
  id: string;
  channel: string;
  target: string;
  event_type: string;
  status: string;
  attempts: number;
  last_error: string | null;
  entities: { kind: string; id: string }[];
}

/** GET /api/alerts/deliveries with a query string. */
export async function deliveries(app: TestApp, query = ''): Promise<DeliveryJson[]> {
  const r = await api(app, 'GET', `/api/alerts/deliveries${query ? '?' + query : ''}`);
  if (r.status !== 200) throw new Error(`GET /api/alerts/deliveries?${query} → ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.deliveries as DeliveryJson[];
}

/** Manual enforcement through the real API (publishes key.revoked / key.restored). */
export async function enforce(app: TestApp, action: 'revoke' | 'throttle' | 'restore', kind: string, id: string, reason = 'test') {
  const r = await api(app, 'POST', '/v1/enforcement', { action, kind, id, reason, ...(action === 'throttle' ? { limit: { requests_per_minute: 5 } } : {}) });
  if (r.status !== 200) throw new Error(`POST /v1/enforcement ${action} ${kind} ${id} → ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}
