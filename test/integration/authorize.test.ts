import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretHasher } from '../../core/usage/secret-hash.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { KEY_REQUESTS_YAML } from '../helpers/gateway-fixture.ts';
import { waitFor } from '../helpers/wait.ts';


async function enforce(t: TestApp, body: unknown) {
  const res = await fetch(`${t.apiUrl}/v1/enforcement`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as { version: number };
}

async function authorize(t: TestApp, headers: Record<string, string>, method = 'GET', path = '/v1/authorize') {
  const res = await fetch(`${t.apiUrl}${path}`, { method, headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

describe('forward-auth /v1/authorize', () => {
  let t: TestApp;
  let gw: Record<string, string>;
  beforeAll(async () => {
    t = await startApp({ yaml: KEY_REQUESTS_YAML });
    gw = { authorization: `Bearer ${t.gatewayToken}` };
    await waitFor(() => (t.app.loop?.stats.lastOkAt ?? 0) > 0, { what: 'a good detector tick' });
  });
  afterAll(async () => {
    await t.close({ cleanup: true });
  });

  it('needs the gateway or admin token (401 otherwise)', async () => {
    const none = await authorize(t, {});
    expect(none.status).toBe(401);
    expect((await authorize(t, { authorization: 'Bearer nope-nope-nope' })).status).toBe(401);
    expect((await authorize(t, { authorization: `Bearer ${t.adminToken}` })).status).toBe(200);
    expect((await authorize(t, { 'x-tollkeeper-gateway-token': t.gatewayToken })).status).toBe(200);
  });

  it('allows unlisted entities and says what is left of their quota', async () => {
    const r = await authorize(t, { ...gw, 'x-tollkeeper-api-key': 'k-fresh', 'x-tollkeeper-tenant': 't-1' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ decision: 'allow', stale: false });
    expect(r.headers.get('x-tollkeeper-remaining-requests')).toBe('100');
    expect(r.headers.get('x-tollkeeper-remaining-cost-usd')).toBe('5');
    // A tenant has no policy here: no remaining headers for a request that only carries a tenant.
    const tenantOnly = await authorize(t, { ...gw, 'x-tollkeeper-tenant': 't-1' });
    expect(tenantOnly.headers.get('x-tollkeeper-remaining-requests')).toBeNull();
  });

  it('refuses a revoked entity with 403, a JSON reason and the reason header; GET and POST alike', async () => {
    await enforce(t, { action: 'revoke', kind: 'tenant', id: 't-bad', reason: 'card declined', ttl: '1h' });
    for (const method of ['GET', 'POST']) {
      const r = await authorize(t, { ...gw, 'x-tollkeeper-api-key': 'k-ok', 'x-tollkeeper-tenant': 't-bad' }, method);
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ decision: 'deny', entity: { kind: 'tenant', id: 't-bad' }, reason: 'card declined', source: 'manual' });
      expect(Date.parse(r.body.resets_at as string)).toBeGreaterThan(Date.now());
      expect(r.headers.get('x-tollkeeper-reason')).toBe('deny: card declined');
    }
    // Envoy's ext_authz puts the original path after a prefix.
    expect((await authorize(t, { ...gw, 'x-tollkeeper-tenant': 't-bad' }, 'DELETE', '/v1/authorize/v1/chat/completions')).status).toBe(403);
  });

  it('throttles past the rate with 429, Retry-After and the RateLimit fields; restore lets it through', async () => {
    // One a minute: the second call is refused however slow this shared machine is.
    await enforce(t, { action: 'throttle', kind: 'user', id: 'u-chatty', reason: 'slow down', limit: { requests_per_minute: 1 } });
    const h = { ...gw, 'x-tollkeeper-user': 'u-chatty' };
    const first = await authorize(t, h);
    expect(first.status).toBe(200);
    const second = await authorize(t, h);
    expect(second.status).toBe(429);
    expect(second.body).toMatchObject({ decision: 'throttle', entity: { kind: 'user', id: 'u-chatty' }, source: 'manual' });
    const retry = Number(second.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(30);
    expect(retry).toBeLessThanOrEqual(60);
    expect(second.headers.get('ratelimit-policy')).toBe('"manual";q=1;w=60');
    expect(second.headers.get('ratelimit')).toBe(`"manual";r=0;t=${retry}`);
    await enforce(t, { action: 'restore', kind: 'user', id: 'u-chatty', reason: 'ok' });
    expect((await authorize(t, h)).status).toBe(200);
    expect((await authorize(t, h)).status).toBe(200);
  });

  it('looks a bearer secret up by the keyed hash ingest stores it under', async () => {
    const hashKey = (JSON.parse(readFileSync(join(t.dataDir, 'tokens.json'), 'utf8')) as { hash_key: string }).hash_key;
    await enforce(t, { action: 'revoke', kind: 'api_key', id: secretHasher(hashKey)('sk-live-leaked'), reason: 'leaked' });
    const leaked = await authorize(t, { 'x-tollkeeper-gateway-token': t.gatewayToken, authorization: 'Bearer sk-live-leaked' });
    expect(leaked.status).toBe(403);
    expect(leaked.body.reason).toBe('leaked');
    expect((await authorize(t, { 'x-tollkeeper-gateway-token': t.gatewayToken, authorization: 'Bearer sk-live-other' })).status).toBe(200);
  });
});

describe('forward-auth with identity.hash_key in the config', () => {
  it('hashes bearer secrets with the configured key, not the one generated into tokens.json', async () => {
    const key = 'configured-hash-key-0123456789';
    const t = await startApp({ yaml: `identity: { hash_key: "${key}" }` });
    try {
      const generated = (JSON.parse(readFileSync(join(t.dataDir, 'tokens.json'), 'utf8')) as { hash_key: string }).hash_key;
      expect(generated).not.toBe(key);
      await enforce(t, { action: 'revoke', kind: 'api_key', id: secretHasher(key)('sk-live-leaked'), reason: 'leaked' });
      const leaked = await authorize(t, { 'x-tollkeeper-gateway-token': t.gatewayToken, authorization: 'Bearer sk-live-leaked' });
      expect(leaked.status).toBe(403);
    } finally {
      await t.close({ cleanup: true });
    }
  });
});

describe('forward-auth when the list is stale', () => {
  // No detector loop: the list is only known current as of loading, so it goes stale after max_staleness.
  async function staleAnswer(yaml: string, status: number) {
    const t = await startApp({ startLoop: false, yaml });
    try {
      return await waitFor(async () => {
        const r = await authorize(t, { authorization: `Bearer ${t.gatewayToken}`, 'x-tollkeeper-api-key': 'k' });
        return r.status === status ? r : null;
      }, { what: `a stale answer (${status})` });
    } finally {
      await t.close({ cleanup: true });
    }
  }

  it('fails closed: 503 with the reason', async () => {
    const stale = await staleAnswer('gateway: { max_staleness: 300ms, fail_mode: closed }', 503);
    expect(stale.body).toMatchObject({ decision: 'deny', entity: null, source: 'staleness' });
    expect(stale.headers.get('x-tollkeeper-reason')).toMatch(/not confirmed current/);
  });

  it('fails closed in nginx mode: 403 with the reason header', async () => {
    const stale = await staleAnswer('gateway: { max_staleness: 300ms, fail_mode: closed, nginx_mode: true }', 403);
    expect(stale.body.source).toBe('staleness');
    expect(stale.headers.get('x-tollkeeper-reason')).toMatch(/failing closed/);
  });

  it('fails open: allows with x-tollkeeper-stale, and still refuses what the list it has revokes', async () => {
    const t = await startApp({ startLoop: false, yaml: 'gateway: { max_staleness: 300ms, fail_mode: open }' });
    try {
      await enforce(t, { action: 'revoke', kind: 'api_key', id: 'k-bad', reason: 'no' });
      const gw = { authorization: `Bearer ${t.gatewayToken}` };
      const r = await waitFor(async () => {
        const a = await authorize(t, { ...gw, 'x-tollkeeper-api-key': 'k-good' });
        return a.body.stale === true ? a : null;
      }, { what: 'a stale allow' });
      expect(r.status).toBe(200);
      expect(Number(r.headers.get('x-tollkeeper-stale'))).toBeGreaterThanOrEqual(0);
      expect((await authorize(t, { ...gw, 'x-tollkeeper-api-key': 'k-bad' })).status).toBe(403);
    } finally {
      await t.close({ cleanup: true });
    }
  });
});
