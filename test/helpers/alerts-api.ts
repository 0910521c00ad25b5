import { api } from './admin-api.ts';
import type { TestApp } from './app.ts';

export { api } from './admin-api.ts';

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
