import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { startApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ startLoop: false });
});
afterAll(async () => {
  await t.close({ cleanup: true });
});

async function enforce(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.apiUrl}/v1/enforcement`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

async function revocations(query = '', headers: Record<string, string> = {}) {
  const res = await fetch(`${t.apiUrl}/v1/revocations${query}`, { headers: { authorization: `Bearer ${t.gatewayToken}`, ...headers } });
  return { status: res.status, etag: res.headers.get('etag'), body: res.status === 200 ? ((await res.json()) as any) : null };
}

describe('enforcement API and revocation list', () => {
  it('validates bodies', async () => {
    expect((await enforce({ action: 'nuke', kind: 'api_key', id: 'x' })).status).toBe(400);
    expect((await enforce({ action: 'revoke', kind: 'api_key' })).status).toBe(400);
    expect((await enforce({ action: 'revoke', kind: 'api_key', id: 'x', extra: 1 })).status).toBe(400);
    expect((await enforce({ action: 'revoke', kind: 'api_key', id: 'x', ttl: 'forever' })).body).toMatchObject({ error: 'invalid_ttl' });
    expect((await enforce({ action: 'throttle', kind: 'api_key', id: 'x' })).body).toMatchObject({ error: 'missing_limit' });
  });

  it('refuses a throttle without any rate and a ttl too short to be seen, listing nothing', async () => {
    const v0 = (await revocations()).body.version as number;
    // An empty limit would list a "throttle" that lets every request through.
    const empty = await enforce({ action: 'throttle', kind: 'api_key', id: 'no-rate', limit: {} });
    expect(empty.status).toBe(400);
    expect(empty.body).toMatchObject({ error: 'missing_limit', message: expect.stringMatching(/^limit: /) as unknown });
    for (const ttl of ['0s', '0ms', '999ms']) {
      const short = await enforce({ action: 'revoke', kind: 'api_key', id: 'blink', ttl });
      expect(short.status, ttl).toBe(400);
      expect(short.body).toMatchObject({ error: 'invalid_ttl', message: expect.stringMatching(/^ttl: at least 1s/) as unknown });
    }
    expect((await revocations()).body.version).toBe(v0);
    expect((await enforce({ action: 'revoke', kind: 'api_key', id: 'blink', ttl: '1s' })).status).toBe(200);
  });

  it('revokes, throttles (strongest wins), restores, and keeps the history', async () => {
    const v0 = (await revocations()).body.version as number;
    const throttled = await enforce({ action: 'throttle', kind: 'user', id: 'u-1', reason: 'too chatty', limit: { requests_per_minute: 5 } });
    expect(throttled.body.entry).toMatchObject({ kind: 'user', id: 'u-1', action: 'throttle', limit: { requests_per_minute: 5 }, source: 'manual' });
    const revoked = await enforce({ action: 'revoke', kind: 'user', id: 'u-1', reason: 'abuse', ttl: '1h' });
    expect(revoked.body.entry.action).toBe('revoke');
    expect(Date.parse(revoked.body.entry.expires_at as string) - Date.now()).toBeGreaterThan(3_500_000);
    const delta = await revocations(`?since=${v0}`);
    expect(delta.body).toMatchObject({ full: false, removed: [] });
    expect(delta.body.added).toHaveLength(1);
    const restored = await enforce({ action: 'restore', kind: 'user', id: 'u-1', reason: 'sorted out' });
    expect(restored.body).toEqual({ version: restored.body.version, removed: { kind: 'user', id: 'u-1' } });
    expect((await enforce({ action: 'restore', kind: 'user', id: 'u-1' })).body.removed).toBeNull();
    const after = await revocations(`?since=${revoked.body.version}`);
    expect(after.body).toMatchObject({ added: [], removed: [{ kind: 'user', id: 'u-1' }], full: false });
    const history = await fetch(`${t.apiUrl}/v1/enforcement/user/u-1`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    const h = (await history.json()) as any;
    expect(h.current).toBeNull();
    expect(h.history.map((x: { action: string }) => x.action)).toEqual(['restore', 'revoke', 'throttle']);
    expect(h.history[0]).toMatchObject({ source: 'manual', reason: 'sorted out', actor: 'api' });
  });

  it('refuses two Idempotency-Key headers and an absurdly long one, acting on nothing', async () => {
    const v0 = (await revocations()).body.version as number;
    // Two header lines (node:http sends an array as repeated lines; fetch would join them into one).
    const twice = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const body = JSON.stringify({ action: 'revoke', kind: 'api_key', id: 'idem-twice' });
      const url = new URL(t.apiUrl);
      const req = request({ host: url.hostname, port: url.port, path: '/v1/enforcement', method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json', 'idempotency-key': ['a', 'b'] } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(twice.status).toBe(400);
    expect(twice.body).toMatchObject({ error: 'invalid_request', message: 'headers.idempotency-key: send one Idempotency-Key (got 2)' });
    const long = await enforce({ action: 'revoke', kind: 'api_key', id: 'idem-long' }, { 'idempotency-key': 'k'.repeat(256) });
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({ error: 'invalid_request', message: 'headers.idempotency-key: at most 255 characters (got 256)' });
    expect((await revocations()).body.version).toBe(v0);
    expect((await enforce({ action: 'revoke', kind: 'api_key', id: 'idem-long' }, { 'idempotency-key': 'k'.repeat(255) })).status).toBe(200);
  });

  it('honours Idempotency-Key', async () => {
    const body = { action: 'revoke', kind: 'api_key', id: 'idem', reason: 'once' };
    const a = await enforce(body, { 'idempotency-key': 'req-1' });
    const b = await enforce(body, { 'idempotency-key': 'req-1' });
    expect(b.body).toEqual(a.body);
    expect((await enforce({ ...body, id: 'other' }, { 'idempotency-key': 'req-1' })).status).toBe(422);
  });

  it('answers 304 on a matching ETag and long-polls until the version moves', async () => {
    const current = await revocations();
    expect(current.etag).toBe(`"${current.body.version}"`);
    expect((await revocations('', { 'if-none-match': current.etag! })).status).toBe(304);
    const started = Date.now();
    const waiting = revocations('?wait=10', { 'if-none-match': current.etag! });
    await enforce({ action: 'revoke', kind: 'tenant', id: 'wake-up' });
    const woke = await waiting;
    expect(woke.status).toBe(200);
    expect(woke.body.version).toBe(current.body.version + 1);
    expect(Date.now() - started).toBeLessThan(9_000);
    const timedOut = await revocations(`?since=${woke.body.version}&wait=0.2`);
    expect(timedOut.body).toMatchObject({ version: woke.body.version, added: [], removed: [], full: false });
    const notModified = await revocations('?wait=0.2', { 'if-none-match': `"${woke.body.version}"` });
    expect(notModified.status).toBe(304);
    expect((await revocations('?wait=61')).status).toBe(400);
    expect((await revocations('?since=-1')).status).toBe(400);
  });

  it('returns the full list when ?since is beyond what it knows', async () => {
    const r = await revocations('?since=999999');
    expect(r.body.full).toBe(true);
    expect(Array.isArray(r.body.entries)).toBe(true);
  });
});
