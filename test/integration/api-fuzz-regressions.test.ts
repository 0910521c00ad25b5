// What the API fuzz found, one focused case each (each failed before its fix): deeply nested JSON answered 500, path
// parameters the schemas allow refused by the router (and in the router's own error shape), malformed URLs
// answered outside the API's error shape.
import { describe, expect, it } from 'vitest';
import { rawApp } from '../helpers/raw-app.ts';
import { errorShapeProblems, sendRaw } from '../helpers/fuzz-http.ts';

const app = rawApp();

const admin = () => ({ authorization: `Bearer ${app.current.adminToken}` });
const adminJson = () => ({ ...admin(), 'content-type': 'application/json' });

describe('deeply nested JSON', () => {
  it('is refused with 400 invalid_request naming the path, whatever the depth', async () => {
    const n = 100_000;
    for (const [path, body] of [
      ['/api/policies', '['.repeat(n) + ']'.repeat(n)],
      ['/api/policies', `{"name":"deep","scope":"api_key","limits":{"cost_usd":1},"match":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`],
      ['/v1/enforcement', `{"action":"revoke","kind":"api_key","id":${'['.repeat(n)}${']'.repeat(n)}}`],
    ] as const) {
      const a = await sendRaw(app.current.apiUrl, { method: 'POST', path, headers: adminJson(), body: Buffer.from(body) });
      expect(a.status, `${path}: ${a.body.toString().slice(0, 200)}`).toBe(400);
      expect(errorShapeProblems(a, false)).toEqual([]);
      const b = JSON.parse(a.body.toString()) as { error: string; message: string };
      expect(b.error).toBe('invalid_request');
      expect(b.message).toMatch(/^body/);
    }
    const list = await sendRaw(app.current.apiUrl, { method: 'GET', path: '/api/policies', headers: admin() });
    expect(JSON.parse(list.body.toString())).toEqual({ policies: [] });
  });
});

describe('path parameters as long as their schemas allow', () => {
  it('reads, overrides and deletes a policy with a 128-character name and a 256-character entity id', async () => {
    const name = 'p'.repeat(128);
    const entity = 'e'.repeat(256);
    const created = await sendRaw(app.current.apiUrl, { method: 'POST', path: '/api/policies', headers: adminJson(), body: Buffer.from(JSON.stringify({ name, scope: 'api_key', limits: { cost_usd: 5 } })) });
    expect(created.status, created.body.toString()).toBe(201);
    const got = await sendRaw(app.current.apiUrl, { method: 'GET', path: `/api/policies/${name}`, headers: admin() });
    expect(got.status, got.body.toString()).toBe(200);
    const override = await sendRaw(app.current.apiUrl, { method: 'PUT', path: `/api/policies/${name}/overrides/${entity}`, headers: adminJson(), body: Buffer.from('{"limits":{"cost_usd":9}}') });
    expect(override.status, override.body.toString()).toBe(200);
    expect(JSON.parse(override.body.toString())).toMatchObject({ policy: name, entity, limits: { cost_usd: 9 } });
    const history = await sendRaw(app.current.apiUrl, { method: 'GET', path: `/v1/enforcement/api_key/${entity}`, headers: admin() });
    expect(history.status, history.body.toString()).toBe(200);
    const deleted = await sendRaw(app.current.apiUrl, { method: 'DELETE', path: `/api/policies/${name}`, headers: admin() });
    expect(deleted.status, deleted.body.toString()).toBe(200);
  });

  it('refuses one longer than its schema with 400 naming the parameter, and an absurd one with a coded 414', async () => {
    const tooLong = await sendRaw(app.current.apiUrl, { method: 'GET', path: `/api/policies/${'p'.repeat(129)}`, headers: admin() });
    expect(tooLong.status).toBe(400);
    expect(JSON.parse(tooLong.body.toString())).toMatchObject({ error: 'invalid_request', message: expect.stringMatching(/^params\.name/) as unknown });
    const absurd = await sendRaw(app.current.apiUrl, { method: 'GET', path: `/api/policies/${'p'.repeat(5_000)}`, headers: admin() });
    expect(absurd.status).toBe(414);
    expect(errorShapeProblems(absurd, false)).toEqual([]);
    expect(JSON.parse(absurd.body.toString())).toMatchObject({ error: 'uri_too_long' });
  });
});

describe('URLs the router cannot read', () => {
  it('answers invalid percent-encoding in a path parameter with a coded 400', async () => {
    for (const path of ['/api/policies/%zz', '/v1/enforcement/api_key/%', '/api/incidents/%C3%28x%E0']) {
      const a = await sendRaw(app.current.apiUrl, { method: 'GET', path, headers: admin() });
      expect(a.status, `${path}: ${a.body.toString()}`).toBe(400);
      expect(errorShapeProblems(a, false), path).toEqual([]);
    }
  });
});

describe('a route that does not exist', () => {
  it('is answered 404 before its body is read, whatever the body (as the gateway listener answers it)', async () => {
    for (const body of ['{"a":', 'x'.repeat(2 * 1024 * 1024), '[]']) {
      const a = await sendRaw(app.current.apiUrl, { method: 'POST', path: '/v1/revocations?since=abc', headers: adminJson(), body: Buffer.from(body) });
      expect(a.status, a.body.toString().slice(0, 200)).toBe(404);
      expect(JSON.parse(a.body.toString())).toEqual({ error: 'not_found', message: 'no route POST /v1/revocations', errors: ['no route POST /v1/revocations'] });
    }
  });
});

describe('values that pass a loose schema but break what runs behind it', () => {
  const post = (path: string, body: unknown) => sendRaw(app.current.apiUrl, { method: 'POST', path, headers: adminJson(), body: Buffer.from(JSON.stringify(body)) });
  const codeOf = (a: { body: Buffer }) => (JSON.parse(a.body.toString()) as { error: string; message: string });

  it('refuses an enforcement ttl past any representable date (was 500), and a throttle rate of almost nothing', async () => {
    for (const ttl of ['14500000w', '9007199254740991ms', '3651d']) {
      const a = await post('/v1/enforcement', { action: 'revoke', kind: 'api_key', id: 'edge-ttl', ttl });
      expect(a.status, `${ttl}: ${a.body.toString()}`).toBe(400);
      expect(codeOf(a)).toMatchObject({ error: 'invalid_ttl', message: expect.stringContaining('3650d') as unknown });
    }
    expect((await post('/v1/enforcement', { action: 'revoke', kind: 'api_key', id: 'edge-ttl', ttl: '3650d' })).status).toBe(200);
    const tiny = await post('/v1/enforcement', { action: 'throttle', kind: 'api_key', id: 'edge-rate', limit: { requests_per_minute: 5e-324 } });
    expect(tiny.status, tiny.body.toString()).toBe(400);
    expect(codeOf(tiny).message).toMatch(/^body\.limit\.requests_per_minute/);
  });

  it('refuses policy limits and overrides too large or too small to compute with (quota status answered 500)', async () => {
    for (const limits of [{ cost_usd: Number.MAX_VALUE }, { tokens: 1e-300 }, { requests: 1e16 }]) {
      const a = await post('/api/policies', { name: 'edge-limits', scope: 'api_key', limits });
      expect(a.status, `${JSON.stringify(limits)}: ${a.body.toString()}`).toBe(400);
      expect(codeOf(a).message).toMatch(/^body\.limits\./);
    }
    expect((await post('/api/policies', { name: 'edge-limits', scope: 'api_key', limits: { requests: 1e15, cost_usd: 1e-6 } })).status).toBe(201);
    const override = await sendRaw(app.current.apiUrl, { method: 'PUT', path: '/api/policies/edge-limits/overrides/k1', headers: adminJson(), body: Buffer.from(JSON.stringify({ limits: { cost_usd: Number.MAX_VALUE } })) });
    expect(override.status, override.body.toString()).toBe(400);
    const status = await sendRaw(app.current.apiUrl, { method: 'GET', path: '/api/quotas/status?scope=api_key&id=k1', headers: admin() });
    expect(status.status, status.body.toString()).toBe(200);
    const throttle = await post('/api/policies', { name: 'edge-throttle', scope: 'api_key', limits: { requests: 5 }, action: { throttle: { requests_per_minute: 1e-300 } } });
    expect(throttle.status, throttle.body.toString()).toBe(400);
  });

  it('refuses a rolling window longer than ten years (the detector and quota status failed on every read), and replays only the store\'s years', async () => {
    for (const rolling of ['14000000w', '3661d']) {
      const long = await post('/api/policies', { name: 'edge-rolling', scope: 'api_key', period: { rolling }, limits: { cost_usd: 1 } });
      expect(long.status, long.body.toString()).toBe(400);
      expect(codeOf(long)).toMatchObject({ error: 'invalid_policy', message: expect.stringMatching(/^period: .*3660d/) as unknown });
    }
    expect((await post('/api/policies', { name: 'edge-rolling', scope: 'api_key', period: { rolling: '3660d' }, limits: { cost_usd: 1 } })).status).toBe(201);
    const top = await sendRaw(app.current.apiUrl, { method: 'GET', path: '/api/quotas/status?scope=api_key', headers: admin() });
    expect(top.status, top.body.toString()).toBe(200);
    for (const [from, to] of [['1900-01-01T00:00:00Z', '1969-12-31T23:59:59Z'], ['2026-12-01', '9999-12-31']]) {
      const replay = await post('/api/replay', { from, to, step: '1000000w', anomaly: true });
      expect(replay.status, replay.body.toString()).toBe(400);
      expect(codeOf(replay)).toMatchObject({ error: 'invalid_range', message: expect.stringContaining('1970') as unknown });
    }
    const ok = await post('/api/replay', { policy_name: 'edge-rolling', from: '2026-12-01', to: '2026-12-02', step: '1h' });
    expect(ok.status, ok.body.toString()).toBe(200);
  });
});

describe('read ranges beyond the stored years', () => {
  it('are clamped to 1970–2100: never a 500, never a bucket before 1970; a range that clamps to nothing is a 400', async () => {
    for (const path of ['/api/usage/unrecognized', '/api/usage/ingest', '/api/usage/unpriced', '/api/incidents']) {
      const wide = await sendRaw(app.current.apiUrl, { method: 'GET', path: `${path}?from=0000-01-01&to=9999-12-31T23%3A59%3A59.999Z`, headers: admin() });
      expect(wide.status, `${path}: ${wide.body.toString().slice(0, 200)}`).toBe(200);
    }
    const before1970 = await sendRaw(app.current.apiUrl, { method: 'GET', path: '/api/usage/ingest?to=0000-01-01', headers: admin() });
    expect(before1970.status, before1970.body.toString()).toBe(400);
    expect(JSON.parse(before1970.body.toString())).toMatchObject({ error: 'invalid_range', message: expect.stringContaining('1970-01-01') as unknown });
    const justBefore = await sendRaw(app.current.apiUrl, { method: 'GET', path: '/api/usage/unrecognized?from=1969-12-31T23%3A59%3A59.999Z&to=1970-01-02T00%3A00%3A00Z', headers: admin() });
    expect(justBefore.status, justBefore.body.toString()).toBe(200);
    expect(JSON.parse(justBefore.body.toString())).toMatchObject({ from: '1970-01-01T00:00:00.000Z' });
  });
});
