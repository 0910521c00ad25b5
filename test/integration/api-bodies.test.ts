// How the API reads bodies. A request without a body that still says `content-type: application/json` (many HTTP
// clients add it to every request, DELETE and body-less POSTs included) is read as a request without a body, not
// refused; a route that needs a body still answers a clear 400 naming it. A body of another type is a 415.
import { describe, expect, it } from 'vitest';
import { rawApp } from '../helpers/raw-app.ts';
import { errorShapeProblems, sendRaw } from '../helpers/fuzz-http.ts';

const app = rawApp();

const json = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
const empty = Buffer.alloc(0);

describe('an empty body with content-type application/json', () => {
  it('is no body on DELETE: a policy and an ingest token are deleted', async () => {
    const created = await sendRaw(app.current.apiUrl, { method: 'POST', path: '/api/policies', headers: json(app.current.adminToken), body: Buffer.from('{"name":"gone","scope":"api_key","limits":{"cost_usd":5}}') });
    expect(created.status, created.body.toString()).toBe(201);
    const del = await sendRaw(app.current.apiUrl, { method: 'DELETE', path: '/api/policies/gone', headers: json(app.current.adminToken), body: empty });
    expect(del.status, del.body.toString()).toBe(200);
    const after = await sendRaw(app.current.apiUrl, { method: 'GET', path: '/api/policies/gone', headers: json(app.current.adminToken) });
    expect(after.status).toBe(404);

    const token = await sendRaw(app.current.apiUrl, { method: 'POST', path: '/api/ingest-tokens', headers: json(app.current.adminToken), body: Buffer.from('{"name":"svc"}') });
    expect(token.status, token.body.toString()).toBe(201);
    const revoked = await sendRaw(app.current.apiUrl, { method: 'DELETE', path: '/api/ingest-tokens/svc', headers: json(app.current.adminToken), body: empty });
    expect(revoked.status, revoked.body.toString()).toBe(200);
  });

  it('is no body on body-less POSTs: release and redeliver answer as without the header', async () => {
    const release = await sendRaw(app.current.apiUrl, { method: 'POST', path: '/v1/admission/res_none/release', headers: json(app.current.gatewayToken), body: empty });
    expect(release.status, release.body.toString()).toBe(200);
    expect(JSON.parse(release.body.toString())).toEqual({ reservation_id: 'res_none', released: false });
    const redeliver = await sendRaw(app.current.apiUrl, { method: 'POST', path: '/api/alerts/deliveries/dlv_none/redeliver', headers: json(app.current.adminToken), body: empty });
    expect(redeliver.status, redeliver.body.toString()).toBe(404);
    expect(JSON.parse(redeliver.body.toString())).toMatchObject({ error: 'not_found' });
  });

  it('is still a 400 naming the body where a route needs one', async () => {
    for (const path of ['/api/policies', '/v1/enforcement', '/api/replay']) {
      const a = await sendRaw(app.current.apiUrl, { method: 'POST', path, headers: json(app.current.adminToken), body: empty });
      expect(a.status, `${path}: ${a.body.toString()}`).toBe(400);
      expect(errorShapeProblems(a, false)).toEqual([]);
      expect((JSON.parse(a.body.toString()) as { message: string }).message).toMatch(/^body/);
    }
  });

  it('keeps refusing a body that is not JSON, and prototype poisoning', async () => {
    for (const body of ['{', ' ', '{"__proto__":{"x":1},"name":"p","scope":"api_key","limits":{"cost_usd":1}}']) {
      const a = await sendRaw(app.current.apiUrl, { method: 'POST', path: '/api/policies', headers: json(app.current.adminToken), body: Buffer.from(body) });
      expect(a.status, `${JSON.stringify(body)}: ${a.body.toString()}`).toBe(400);
      expect(errorShapeProblems(a, false)).toEqual([]);
    }
  });
});

describe('a body that is not JSON', () => {
  it('is 415 naming the content type it got, also text/plain (what fetch sends for a string body)', async () => {
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded']) {
      const a = await sendRaw(app.current.apiUrl, { method: 'POST', path: '/api/policies', headers: { authorization: `Bearer ${app.current.adminToken}`, 'content-type': type }, body: Buffer.from('{"name":"p","scope":"api_key","limits":{"cost_usd":1}}') });
      expect(a.status, `${type}: ${a.body.toString()}`).toBe(415);
      expect(errorShapeProblems(a, false)).toEqual([]);
      expect(JSON.parse(a.body.toString())).toMatchObject({ error: 'unsupported_media_type', message: `content-type ${JSON.stringify(type)} is not accepted: send JSON with content-type application/json` });
    }
    const list = await sendRaw(app.current.apiUrl, { method: 'GET', path: '/api/policies', headers: json(app.current.adminToken) });
    expect(JSON.parse(list.body.toString())).toEqual({ policies: [] });
  });
});

describe('a compressed body', () => {
  it('is 415 naming the encoding (the API reads plain JSON), not "not valid JSON"', async () => {
    const { gzipSync } = await import('node:zlib');
    for (const encoding of ['gzip', 'br', 'deflate, gzip']) {
      const body = gzipSync(Buffer.from('{"name":"zipped","scope":"api_key","limits":{"cost_usd":1}}'));
      const a = await sendRaw(app.current.apiUrl, { method: 'POST', path: '/api/policies', headers: { ...json(app.current.adminToken), 'content-encoding': encoding }, body });
      expect(a.status, `${encoding}: ${a.body.toString()}`).toBe(415);
      expect(errorShapeProblems(a, false)).toEqual([]);
      expect(JSON.parse(a.body.toString())).toMatchObject({ error: 'unsupported_media_type', message: `content-encoding ${JSON.stringify(encoding)} is not accepted here: send the JSON uncompressed` });
    }
    const identity = await sendRaw(app.current.apiUrl, { method: 'POST', path: '/api/policies', headers: { ...json(app.current.adminToken), 'content-encoding': 'identity' }, body: Buffer.from('{"name":"plain","scope":"api_key","limits":{"cost_usd":1}}') });
    expect(identity.status, identity.body.toString()).toBe(201);
  });
});
