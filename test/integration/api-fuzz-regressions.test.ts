// What the API fuzz found, one focused case each (each failed before its fix): deeply nested JSON answered 500, path
// parameters the schemas allow refused by the router (and in the router's own error shape), malformed URLs
// answered outside the API's error shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { closeFuzzAgent, errorShapeProblems, sendRaw } from '../helpers/fuzz-http.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ startLoop: false });
});
afterAll(async () => {
  closeFuzzAgent();
  await t?.close({ cleanup: true });
});

const admin = () => ({ authorization: `Bearer ${t.adminToken}` });
const adminJson = () => ({ ...admin(), 'content-type': 'application/json' });

describe('deeply nested JSON', () => {
  it('is refused with 400 invalid_request naming the path, whatever the depth', async () => {
    const n = 100_000;
    for (const [path, body] of [
      ['/api/policies', '['.repeat(n) + ']'.repeat(n)],
      ['/api/policies', `{"name":"deep","scope":"api_key","limits":{"cost_usd":1},"match":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`],
      ['/v1/enforcement', `{"action":"revoke","kind":"api_key","id":${'['.repeat(n)}${']'.repeat(n)}}`],
    ] as const) {
      const a = await sendRaw(t.apiUrl, { method: 'POST', path, headers: adminJson(), body: Buffer.from(body) });
      expect(a.status, `${path}: ${a.body.toString().slice(0, 200)}`).toBe(400);
      expect(errorShapeProblems(a, false)).toEqual([]);
      const b = JSON.parse(a.body.toString()) as { error: string; message: string };
      expect(b.error).toBe('invalid_request');
      expect(b.message).toMatch(/^body/);
    }
    const list = await sendRaw(t.apiUrl, { method: 'GET', path: '/api/policies', headers: admin() });
    expect(JSON.parse(list.body.toString())).toEqual({ policies: [] });
  });
});

describe('path parameters as long as their schemas allow', () => {
  it('reads, overrides and deletes a policy with a 128-character name and a 256-character entity id', async () => {
    const name = 'p'.repeat(128);
    const entity = 'e'.repeat(256);
    const created = await sendRaw(t.apiUrl, { method: 'POST', path: '/api/policies', headers: adminJson(), body: Buffer.from(JSON.stringify({ name, scope: 'api_key', limits: { cost_usd: 5 } })) });
    expect(created.status, created.body.toString()).toBe(201);
    const got = await sendRaw(t.apiUrl, { method: 'GET', path: `/api/policies/${name}`, headers: admin() });
    expect(got.status, got.body.toString()).toBe(200);
    const override = await sendRaw(t.apiUrl, { method: 'PUT', path: `/api/policies/${name}/overrides/${entity}`, headers: adminJson(), body: Buffer.from('{"limits":{"cost_usd":9}}') });
    expect(override.status, override.body.toString()).toBe(200);
    expect(JSON.parse(override.body.toString())).toMatchObject({ policy: name, entity, limits: { cost_usd: 9 } });
    const history = await sendRaw(t.apiUrl, { method: 'GET', path: `/v1/enforcement/api_key/${entity}`, headers: admin() });
    expect(history.status, history.body.toString()).toBe(200);
    const deleted = await sendRaw(t.apiUrl, { method: 'DELETE', path: `/api/policies/${name}`, headers: admin() });
    expect(deleted.status, deleted.body.toString()).toBe(200);
  });

  it('refuses one longer than its schema with 400 naming the parameter, and an absurd one with a coded 414', async () => {
    const tooLong = await sendRaw(t.apiUrl, { method: 'GET', path: `/api/policies/${'p'.repeat(129)}`, headers: admin() });
    expect(tooLong.status).toBe(400);
    expect(JSON.parse(tooLong.body.toString())).toMatchObject({ error: 'invalid_request', message: expect.stringMatching(/^params\.name/) as unknown });
    const absurd = await sendRaw(t.apiUrl, { method: 'GET', path: `/api/policies/${'p'.repeat(5_000)}`, headers: admin() });
    expect(absurd.status).toBe(414);
    expect(errorShapeProblems(absurd, false)).toEqual([]);
    expect(JSON.parse(absurd.body.toString())).toMatchObject({ error: 'uri_too_long' });
  });
});

describe('URLs the router cannot read', () => {
  it('answers invalid percent-encoding in a path parameter with a coded 400', async () => {
    for (const path of ['/api/policies/%zz', '/v1/enforcement/api_key/%', '/api/incidents/%C3%28x%E0']) {
      const a = await sendRaw(t.apiUrl, { method: 'GET', path, headers: admin() });
      expect(a.status, `${path}: ${a.body.toString()}`).toBe(400);
      expect(errorShapeProblems(a, false), path).toEqual([]);
    }
  });
});

describe('a route that does not exist', () => {
  it('is answered 404 before its body is read, whatever the body (as the gateway listener answers it)', async () => {
    for (const body of ['{"a":', 'x'.repeat(2 * 1024 * 1024), '[]']) {
      const a = await sendRaw(t.apiUrl, { method: 'POST', path: '/v1/revocations?since=abc', headers: adminJson(), body: Buffer.from(body) });
      expect(a.status, a.body.toString().slice(0, 200)).toBe(404);
      expect(JSON.parse(a.body.toString())).toEqual({ error: 'not_found', message: 'no route POST /v1/revocations', errors: ['no route POST /v1/revocations'] });
    }
  });
});
