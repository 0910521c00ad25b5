import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { RpcStatus } from '../../collector/otlp/proto.ts';

// A wrong method on an OTLP path is a 405 naming the method and the allowed one, in OTLP form; never a 404 that
// sends the operator looking for a wrong URL.

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close({ cleanup: true });
});

const paths = ['/v1/traces', '/v1/metrics', '/v1/logs'];

describe('wrong methods on the OTLP paths', () => {
  for (const path of paths) {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      it(`${method} ${path} → 405 with Allow and an OTLP status`, async () => {
        const res = await fetch(`${t.otlpUrl}${path}`, { method, ...(method === 'GET' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' }) });
        expect(res.status).toBe(405);
        expect(res.headers.get('allow')).toBe('POST, OPTIONS');
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        const body = (await res.json()) as { code: number; message: string };
        expect(body.code).toBe(12);
        expect(body.message).toBe(`method ${method} not allowed on ${path}: OTLP/HTTP exports are sent with POST`);
      });
    }
  }

  it('HEAD is 405 too, without a body', async () => {
    const res = await fetch(`${t.otlpUrl}/v1/traces`, { method: 'HEAD' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
  });

  it('OPTIONS answers 204 with Allow', async () => {
    const res = await fetch(`${t.otlpUrl}/v1/metrics`, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
  });

  it('a protobuf sender gets the status in protobuf', async () => {
    const res = await fetch(`${t.otlpUrl}/v1/traces`, { method: 'PUT', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array([0x0a, 0x00]) });
    expect(res.status).toBe(405);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    const status = RpcStatus.decode(new Uint8Array(await res.arrayBuffer())) as unknown as { code: number; message: string };
    expect(status.code).toBe(12);
    expect(status.message).toMatch(/^method PUT not allowed on \/v1\/traces/);
  });

  it('an unknown path is still a 404', async () => {
    const res = await fetch(`${t.otlpUrl}/v1/nothing`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(404);
  });

  it('POST still ingests', async () => {
    const res = await fetch(`${t.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resourceSpans":[]}' });
    expect(res.status).toBe(200);
  });
});
