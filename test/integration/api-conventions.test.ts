import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteInfo } from '../../api/index.ts';
import { startApp, type TestApp } from '../helpers/app.ts';

// Every route of the API port, as the listener registered it: routes added later are covered by themselves.
let t: TestApp;
let routes: RouteInfo[];
beforeAll(async () => {
  t = await startApp({ startLoop: false });
  routes = t.app.api!.routeTable.filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS');
});
afterAll(async () => {
  await t.close({ cleanup: true });
});

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// Gateways call these to ask for a decision; they change no configuration, so the gateway token may call them.
const GATEWAY_POSTS = new Set(['/v1/authorize', '/v1/authorize/*', '/v1/admission', '/v1/admission/:id/release']);
// Forward-auth answers for any method and never reads the forwarded body; alert redeliver and enable are actions
// named by their URL alone.
const NO_BODY = new Set(['/v1/authorize', '/v1/authorize/*', '/api/alerts/deliveries/:id/redeliver', '/api/alerts/subscribers/:id/enable', '/v1/admission/:id/release']);

/** The route's URL with each :param filled, and a query string that breaks any query schema. */
function target(url: string): string {
  return url.replace(/:(\w+)/g, 'x-$1').replace(/\*$/, 'x') + '?limit=not-a-number&unknown_param=1&since=-5';
}

async function call(r: RouteInfo, token: string | undefined) {
  const res = await t.app.api!.inject({
    method: r.method as 'GET',
    url: target(r.url),
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(MUTATING.has(r.method) ? { payload: '{"unknown_field": [1, 2], "limits": "lots"' } : {}),
  });
  return { status: res.statusCode, text: res.body, headers: res.headers };
}

describe('API conventions over every registered route', () => {
  it('has found the routes', () => {
    expect(routes.length).toBeGreaterThanOrEqual(17);
    expect(routes.map((r) => `${r.method} ${r.url}`)).toContain('POST /api/policies');
  });

  it('answers 401 to a caller without a token before looking at the request, never with schema details', async () => {
    for (const r of routes.filter((x) => x.auth !== 'public')) {
      for (const token of [undefined, 'not-a-known-token-0123456789']) {
        const res = await call(r, token);
        expect(res.status, `${r.method} ${r.url}`).toBe(401);
        expect(JSON.parse(res.text), `${r.method} ${r.url}`).toEqual({ error: 'unauthorized', message: 'missing or unknown bearer token', errors: ['missing or unknown bearer token'] });
        expect(res.headers['www-authenticate']).toBe('Bearer');
      }
    }
  });

  it('answers 403 to the gateway token on every mutating route (except the gateway decision routes)', async () => {
    for (const r of routes.filter((x) => MUTATING.has(x.method) && !GATEWAY_POSTS.has(x.url))) {
      expect(r.auth, `${r.method} ${r.url} must be admin-only`).toBe('admin');
      const res = await call(r, t.gatewayToken);
      expect(res.status, `${r.method} ${r.url}`).toBe(403);
      expect(JSON.parse(res.text)).toMatchObject({ error: 'forbidden' });
      expect(res.text).not.toMatch(/unknown_field|limits/);
    }
  });

  it('lets only GET routes be public: health, the API description and the web UI files (which hold no data)', () => {
    const open = routes.filter((r) => r.auth === 'public');
    expect(open.every((r) => r.method === 'GET'), open.map((r) => `${r.method} ${r.url}`).join(', ')).toBe(true);
    expect(open.every((r) => ['/healthz', '/readyz', '/openapi.json', '/', '/ui/app.js', '/ui/app.css'].includes(r.url) || r.url.startsWith('/docs')), open.map((r) => r.url).join(', ')).toBe(true);
  });

  it('validates input only for callers allowed to call the route, and then names the problem', async () => {
    for (const r of routes.filter((x) => x.auth !== 'public' && (x.schema?.querystring || x.schema?.body))) {
      const res = await call(r, t.adminToken);
      expect(res.status, `${r.method} ${r.url}: ${res.text}`).toBe(400);
      const body = JSON.parse(res.text) as { error: string; errors: string[] };
      expect(['invalid_request']).toContain(body.error);
      expect(body.errors.length).toBeGreaterThan(0);
    }
  });

  it('declares request and response schemas on every route', () => {
    // Hidden routes are the API description itself (/openapi.json, the /docs page and its assets).
    const described = routes.filter((r) => !r.schema?.hide);
    expect(routes.length - described.length).toBeLessThanOrEqual(8);
    for (const r of described) {
      const response = (r.schema?.response ?? {}) as Record<string, unknown>;
      const success = Object.keys(response).filter((s) => s.startsWith('2'));
      expect(success.length, `${r.method} ${r.url} has no success response schema`).toBeGreaterThan(0);
      if (r.url.includes(':')) expect(r.schema?.params, `${r.method} ${r.url} has no params schema`).toBeDefined();
      if ((r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH') && !NO_BODY.has(r.url)) expect(r.schema?.body, `${r.method} ${r.url} has no body schema`).toBeDefined();
    }
  });
});
