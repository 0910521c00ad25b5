import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRevocationPoller } from '../../client/index.ts';
import { secretHasher } from '../../core/usage/secret-hash.ts';
import { rawExchange } from '../helpers/fuzz-raw.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { KEY_REQUESTS_YAML } from '../helpers/gateway-fixture.ts';
import { waitFor } from '../helpers/wait.ts';

// The gateway listener (a worker thread with its own port) and the API port's fastify routes answer
// /v1/authorize and /v1/revocations from the same decision code: every case below is asked of both, and the
// answers must be the same bytes (status, every header but the connection's own, body).


const METRICS_TOKEN = 'tkm_metrics-token-for-the-gateway-test';

/** Headers that belong to the connection or the moment, not to the answer. */
const CONNECTION = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

async function ask(base: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(base + path, init);
  const headers = Object.fromEntries([...res.headers].filter(([k]) => !CONNECTION.has(k)).sort(([a], [b]) => a.localeCompare(b)));
  return { status: res.status, headers, body: await res.text() };
}

/** The same request to both listeners, API port first. */
async function both(t: TestApp, path: string, init: RequestInit = {}): Promise<[Answer, Answer]> {
  const api = await ask(t.apiUrl, path, init);
  const gateway = await ask(t.gatewayUrl, path, init);
  return [api, gateway];
}

async function enforce(t: TestApp, body: unknown): Promise<number> {
  const res = await fetch(`${t.apiUrl}/v1/enforcement`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { version: number }).version;
}

/** Both copies of the list (the API port's, the worker's) have reached `version`. */
async function settled(t: TestApp, version: number): Promise<void> {
  const auth = { authorization: `Bearer ${t.gatewayToken}` };
  await waitFor(async () => {
    const [a, g] = await both(t, '/v1/revocations', { headers: { ...auth, 'if-none-match': `"${version}"` } });
    return a.status === 304 && g.status === 304;
  }, { what: `both listeners at version ${version}` });
}

describe('gateway listener answers what the API port answers', () => {
  let t: TestApp;
  let gw: Record<string, string>;
  let hashed: (s: string) => string;
  let version = 0;
  beforeAll(async () => {
    t = await startApp({ yaml: `${KEY_REQUESTS_YAML}auth: { metrics_token: ${METRICS_TOKEN} }\n` });
    gw = { authorization: `Bearer ${t.gatewayToken}` };
    hashed = secretHasher((JSON.parse(readFileSync(join(t.dataDir, 'tokens.json'), 'utf8')) as { hash_key: string }).hash_key);
    await waitFor(() => (t.app.loop?.stats.lastOkAt ?? 0) > 0, { what: 'a good detector tick' });
    await enforce(t, { action: 'revoke', kind: 'tenant', id: 't-bad', reason: 'card declined', ttl: '1h' });
    await enforce(t, { action: 'revoke', kind: 'api_key', id: hashed('sk-live-leaked'), reason: 'leaked' });
    version = await enforce(t, { action: 'throttle', kind: 'user', id: 'u-chatty', reason: 'slow down', limit: { requests_per_minute: 1 } });
    await settled(t, version);
    // Remaining budget comes from the quota job's evaluation: wait until both copies have one.
    await waitFor(async () => {
      const [a, g] = await both(t, '/v1/authorize', { headers: { ...gw, 'x-tollkeeper-api-key': 'k-fresh' } });
      return a.headers['x-tollkeeper-remaining-requests'] === '100' && g.headers['x-tollkeeper-remaining-requests'] === '100';
    }, { what: 'remaining budget on both listeners' });
  });
  afterAll(async () => {
    await t.close({ cleanup: true });
  });

  type Case = [string, number, () => [string, RequestInit]];
  /** Asks both listeners; the API port's status is the expected one, the gateway listener's answer its very bytes. */
  async function sameBytes(_what: string, status: number, req: Case[2]): Promise<void> {
    const [path, init] = req();
    const [api, gateway] = await both(t, path, init);
    expect(api.status).toBe(status);
    expect(gateway).toEqual(api);
  }

  it('listens on its own port', () => {
    expect(t.gatewayUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(t.gatewayUrl).not.toBe(t.apiUrl);
  });

  it('answers /healthz and /readyz without a token while its list is current', async () => {
    const health = await fetch(`${t.gatewayUrl}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
    const ready = await fetch(`${t.gatewayUrl}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);
  });

  const authorizeCases: Case[] = [
    ['no token', 401, () => ['/v1/authorize', {}]],
    ['an unknown token', 401, () => ['/v1/authorize', { headers: { authorization: 'Bearer nope-nope-nope' } }]],
    ['the admin token', 200, () => ['/v1/authorize', { headers: { authorization: `Bearer ${t.adminToken}` } }]],
    ['the metrics token (it reads /metrics only)', 403, () => ['/v1/authorize', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }]],
    ['the token in its own header', 200, () => ['/v1/authorize', { headers: { 'x-tollkeeper-gateway-token': t.gatewayToken } }]],
    ['an unlisted key with budget left', 200, () => ['/v1/authorize', { headers: { ...gw, 'x-tollkeeper-api-key': 'k-fresh', 'x-tollkeeper-tenant': 't-1' } }]],
    ['a tenant without a policy', 200, () => ['/v1/authorize', { headers: { ...gw, 'x-tollkeeper-tenant': 't-1' } }]],
    ['a revoked tenant', 403, () => ['/v1/authorize', { headers: { ...gw, 'x-tollkeeper-api-key': 'k-ok', 'x-tollkeeper-tenant': 't-bad' } }]],
    ['a revoked tenant, POST with a body', 403, () => ['/v1/authorize', { method: 'POST', headers: { ...gw, 'x-tollkeeper-tenant': 't-bad', 'content-type': 'application/json' }, body: '{"model":"x"}' }]],
    ["Envoy's path prefix, DELETE", 403, () => ['/v1/authorize/v1/chat/completions', { method: 'DELETE', headers: { ...gw, 'x-tollkeeper-tenant': 't-bad' } }]],
    ['a leaked secret looked up by its hash', 403, () => ['/v1/authorize', { headers: { 'x-tollkeeper-gateway-token': t.gatewayToken, authorization: 'Bearer sk-live-leaked' } }]],
    ['another secret', 200, () => ['/v1/authorize', { headers: { 'x-tollkeeper-gateway-token': t.gatewayToken, authorization: 'Bearer sk-live-other' } }]],
  ];
  it.each(authorizeCases)('/v1/authorize: %s → %i, the same bytes', sameBytes);

  // Header names in any case, and repeated headers, as a gateway may send them (written byte for byte): the gateway
  // listener reads identity straight from the raw header list, and must read what the API port reads.
  const rawCases: [string, number, () => string[]][] = [
    ['header names in mixed case', 403, () => [`X-Tollkeeper-Gateway-Token: ${t.gatewayToken}`, 'X-TOLLKEEPER-TENANT: t-bad']],
    // Two identities in one header is refused (node would join them into "t-1, t-bad", or keep only the first
    // Authorization while the upstream may read the other): otherwise a revoked one passes.
    ['a repeated tenant header, the revoked one second', 400, () => [`x-tollkeeper-gateway-token: ${t.gatewayToken}`, 'x-tollkeeper-tenant: t-1', 'X-Tollkeeper-Tenant: t-bad']],
    ['two tenants in one header', 400, () => [`x-tollkeeper-gateway-token: ${t.gatewayToken}`, 'x-tollkeeper-tenant: t-1, t-bad']],
    ['a repeated secret, the leaked one second', 400, () => [`x-tollkeeper-gateway-token: ${t.gatewayToken}`, 'authorization: Bearer sk-live-other', 'Authorization: Bearer sk-live-leaked']],
    ['a repeated gateway token (joined: unknown)', 401, () => [`x-tollkeeper-gateway-token: ${t.gatewayToken}`, `x-tollkeeper-gateway-token: ${t.gatewayToken}`]],
    ['an empty tenant header', 200, () => [`authorization: Bearer ${t.gatewayToken}`, 'x-tollkeeper-tenant: ', 'x-tollkeeper-api-key: k-fresh']],
  ];
  it.each(rawCases)('/v1/authorize, raw headers: %s → %i, the same bytes', async (_what, status, lines) => {
    const request = `GET /v1/authorize HTTP/1.1\r\nhost: 127.0.0.1\r\n${lines().map((l) => l + '\r\n').join('')}connection: close\r\n\r\n`;
    const answer = async (base: string) => {
      const [r] = (await rawExchange(Number(new URL(base).port), request)).responses;
      expect(r).toBeDefined();
      const headers = Object.fromEntries(Object.entries(r!.headers).filter(([k]) => !CONNECTION.has(k)).sort(([a], [b]) => a.localeCompare(b)));
      return { status: r!.status, headers, body: r!.body.toString('utf8') };
    };
    const api = await answer(t.apiUrl);
    expect(api.status).toBe(status);
    expect(await answer(t.gatewayUrl)).toEqual(api);
  });

  it('/v1/authorize: a throttle lets one through a minute, then 429 with Retry-After and the RateLimit fields (each listener keeps its own buckets)', async () => {
    const h = { headers: { ...gw, 'x-tollkeeper-user': 'u-chatty' } };
    const [a1, g1] = await both(t, '/v1/authorize', h);
    expect([a1.status, g1.status]).toEqual([200, 200]);
    expect(g1).toEqual(a1);
    const [a2, g2] = await both(t, '/v1/authorize', h);
    expect([a2.status, g2.status]).toEqual([429, 429]);
    // The seconds to wait are each bucket's own (taken a moment apart); everything else is the same bytes.
    const secondsOf = (x: Answer) => Number(x.headers['retry-after']);
    expect(Math.abs(secondsOf(a2) - secondsOf(g2))).toBeLessThanOrEqual(1);
    const same = (x: Answer) => ({ ...x, headers: { ...x.headers, 'retry-after': '', ratelimit: x.headers.ratelimit!.replace(/t=\d+$/, 't=') } });
    expect(same(g2)).toEqual(same(a2));
    expect(a2.headers.ratelimit).toBe(`"manual";r=0;t=${secondsOf(a2)}`);
    expect(a2.headers['ratelimit-policy']).toBe('"manual";q=1;w=60');
  });

  const revocationCases: Case[] = [
    ['no token', 401, () => ['/v1/revocations', {}]],
    ['the metrics token', 403, () => ['/v1/revocations', { headers: { 'x-tollkeeper-gateway-token': METRICS_TOKEN } }]],
    ['the full list', 200, () => ['/v1/revocations', { headers: gw }]],
    ['If-None-Match at the current version', 304, () => ['/v1/revocations', { headers: { ...gw, 'if-none-match': `"${version}"` } }]],
    ['If-None-Match at an older version', 200, () => ['/v1/revocations', { headers: { ...gw, 'if-none-match': `"${version - 1}"` } }]],
    ['the delta since the previous version', 200, () => [`/v1/revocations?since=${version - 1}`, { headers: gw }]],
    ['the delta since 0', 200, () => ['/v1/revocations?since=0', { headers: gw }]],
    ['a delta from the future', 200, () => [`/v1/revocations?since=${version + 5}`, { headers: gw }]],
    ['a long poll that times out with If-None-Match', 304, () => ['/v1/revocations?wait=0.2', { headers: { ...gw, 'if-none-match': `"${version}"` } }]],
    ['a long poll that times out without it', 200, () => [`/v1/revocations?since=${version}&wait=0.2`, { headers: gw }]],
    ['a negative since', 400, () => ['/v1/revocations?since=-1', { headers: gw }]],
    ['a wait over 60 s', 400, () => ['/v1/revocations?wait=61', { headers: gw }]],
    ['an unknown parameter', 400, () => ['/v1/revocations?sinse=3', { headers: gw }]],
    ['since written as a decimal fraction (not a version)', 400, () => [`/v1/revocations?since=${version - 1}.0`, { headers: gw }]],
    ['no such route', 404, () => ['/v1/revocation', { headers: gw }]],
  ];
  it.each(revocationCases)('/v1/revocations: %s → %i, the same bytes', sameBytes);

  it('wakes the long polls parked on it with the delta the API port serves', async () => {
    const gateway = t.app.gateway!;
    const polls = Array.from({ length: 20 }, () => ask(t.gatewayUrl, `/v1/revocations?since=${version}&wait=30`, { headers: { ...gw, 'if-none-match': `"${version}"` } }));
    await waitFor(() => gateway.waiting === 20, { what: '20 pollers parked on the gateway listener' });
    const next = await enforce(t, { action: 'revoke', kind: 'agent', id: 'a-loop', reason: 'runaway' });
    const answers = await Promise.all(polls);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]!.status).toBe(200);
    expect(JSON.parse(answers[0]!.body)).toMatchObject({ version: next, full: false, removed: [], added: [{ kind: 'agent', id: 'a-loop' }] });
    expect(answers[0]).toEqual(await ask(t.apiUrl, `/v1/revocations?since=${version}`, { headers: gw }));
    expect(gateway.waiting).toBe(0);
    version = next;
  });

  it('asks the main thread about a request carrying an admission estimate: a reservation, or the same refusal', async () => {
    const estimate = { ...gw, 'x-tollkeeper-api-key': 'k-admitted', 'x-tollkeeper-estimate': 'model=gpt-4o; provider=openai; input_tokens=1000; max_output_tokens=1000' };
    const before = t.app.admission!.size;
    const g = await ask(t.gatewayUrl, '/v1/authorize', { headers: estimate });
    expect(g.status).toBe(200);
    expect(g.headers['x-tollkeeper-reservation-id']).toMatch(/^rsv_/);
    expect(t.app.admission!.size).toBe(before + 1);
    // A revoked entity is refused before anything is reserved, and an unreadable estimate is a 400: the same bytes.
    for (const headers of [{ ...estimate, 'x-tollkeeper-tenant': 't-bad' }, { ...estimate, 'x-tollkeeper-estimate': 'model=gpt-4o;input_tokens=lots' }]) {
      const [api, gateway] = await both(t, '/v1/authorize', { headers });
      expect(api.status).toBeGreaterThanOrEqual(400);
      expect(gateway).toEqual(api);
    }
    expect(t.app.admission!.size).toBe(before + 1);
  });

  it('serves the gateway client as the API port does', async () => {
    const poller = createRevocationPoller({ url: t.gatewayUrl, token: t.gatewayToken, waitSeconds: 2, minBackoffMs: 50, maxBackoffMs: 200 });
    try {
      await poller.ready();
      expect(poller.isBlocked('tenant', 't-bad')).toBe(true);
      const v = await enforce(t, { action: 'restore', kind: 'tenant', id: 't-bad', reason: 'paid' });
      await waitFor(() => poller.version === v, { what: `the poller at version ${v}` });
      expect(poller.isBlocked('tenant', 't-bad')).toBe(false);
      expect(poller.throttleFor('user', 'u-chatty')).toMatchObject({ limit: { requests_per_minute: 1 } });
    } finally {
      await poller.close();
    }
  });
});

describe('gateway listener when the list is stale', () => {
  const cases: [string, string, number][] = [
    ['fails closed: 503', 'gateway: { max_staleness: 300ms, fail_mode: closed }', 503],
    ['fails closed in nginx mode: 403', 'gateway: { max_staleness: 300ms, fail_mode: closed, nginx_mode: true }', 403],
    ['fails open: 200 with x-tollkeeper-stale', 'gateway: { max_staleness: 300ms, fail_mode: open }', 200],
  ];
  it.each(cases)('%s, the same bytes on both listeners', async (_what, yaml, status) => {
    // No detector loop: the list is current only as of loading, so it goes stale after max_staleness.
    const t = await startApp({ startLoop: false, yaml });
    try {
      const init = { headers: { authorization: `Bearer ${t.gatewayToken}`, 'x-tollkeeper-api-key': 'k' } };
      const [api, gateway] = await waitFor(async () => {
        const r = await both(t, '/v1/authorize', init);
        const stale = (a: Answer) => a.status === status && (status !== 200 || a.headers['x-tollkeeper-stale'] !== undefined);
        // Both seconds counts past the same bound (a tie at a rounding edge is asked again).
        return stale(r[0]) && stale(r[1]) && r[0].body === r[1].body && r[0].headers['x-tollkeeper-reason'] === r[1].headers['x-tollkeeper-reason'] && r[0].headers['x-tollkeeper-stale'] === r[1].headers['x-tollkeeper-stale'] ? r : null;
      }, { what: `a stale answer (${status}) from both` });
      expect(gateway).toEqual(api);
      if (status !== 200) expect(JSON.parse(api.body)).toMatchObject({ decision: 'deny', entity: null, source: 'staleness' });
      // Whatever the fail mode, the listener says it is not ready, so a load balancer or probe can see it.
      const ready = await fetch(`${t.gatewayUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'not ready', reason: expect.stringMatching(/^revocation list not confirmed current for \d+\.\d s \(gateway\.max_staleness 0\.3 s\)$/) });
    } finally {
      await t.close({ cleanup: true });
    }
  });
});

describe('gateway listener switched off', () => {
  it('is not started with gateway.listener: off; the API port serves gateways alone', async () => {
    const t = await startApp({ startLoop: false, yaml: 'gateway: { listener: off }' });
    try {
      expect(t.gatewayUrl).toBe('');
      expect(t.app.gateway).toBeUndefined();
      expect((await ask(t.apiUrl, '/v1/authorize', { headers: { authorization: `Bearer ${t.gatewayToken}` } })).status).toBe(200);
    } finally {
      await t.close({ cleanup: true });
    }
  });
});
