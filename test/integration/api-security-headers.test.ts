// API answers echo ids a sender chose (a 404 names the policy asked for): each answer says nosniff and forbids
// framing, and the web UI page keeps its own stricter Content-Security-Policy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { HOSTILE } from '../helpers/hostile-ids.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ startLoop: false });
});
afterAll(async () => {
  await t?.close({ cleanup: true });
});

const get = (path: string, token?: string) => fetch(`${t.apiUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('security headers on the API port', () => {
  it.each([
    ['a 404 naming a hostile policy', `/api/policies/${encodeURIComponent(HOSTILE.img)}`, 404],
    ['an entity history of a hostile id', `/v1/enforcement/api_key/${encodeURIComponent(HOSTILE.script)}`, 200],
    ['a 401', '/api/policies', 401],
    ['the API reference page', '/docs', 200],
  ])('%s answers nosniff and no framing', async (_what, path, status) => {
    const res = await get(path, status === 401 ? undefined : t.adminToken);
    expect(res.status).toBe(status);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    await res.arrayBuffer();
  });

  it('the web UI page keeps its own policy (scripts only from this origin)', async () => {
    const res = await get('/');
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    await res.arrayBuffer();
  });
});
