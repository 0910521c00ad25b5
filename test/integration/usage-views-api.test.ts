import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { usageEvent } from '../helpers/events.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
// A fixed clock: 10:30 UTC, so buckets and windows are known exactly.
const NOW = Date.UTC(2026, 11, 3, 10, 30);

let t: TestApp;

async function call(method: string, path: string, body?: unknown, token: string | null = t.adminToken): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${t.apiUrl}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text, headers: res.headers };
}

beforeAll(async () => {
  t = await startApp({ startLoop: false, now: () => NOW });
  await createUsageRepo(t.app.store).insert([
    usageEvent({ apiKey: 'k-a', tenant: 'acme', costUsd: 1, inputTokens: 100, outputTokens: 10, time: NOW - 10 * MIN }),
    usageEvent({ apiKey: 'k-a', tenant: 'acme', costUsd: 2, inputTokens: 200, outputTokens: 20, time: NOW - 25 * MIN }),
    usageEvent({ apiKey: 'k-b', tenant: 'globex', costUsd: 0.5, time: NOW - 2 * HOUR }),
    // The same hour on the three days before: the store's history starts three days ago.
    ...[1, 2, 3].map((d) => usageEvent({ apiKey: 'k-a', tenant: 'acme', costUsd: 0.3, time: NOW - d * DAY - 20 * MIN })),
    usageEvent({ apiKey: 'k-old', costUsd: 9, time: NOW - 3 * DAY - 5 * HOUR }),
  ]);
});
afterAll(async () => {
  await t?.close({ cleanup: true });
});

describe('usage views for the web UI', () => {
  it('compares the last hour with the same hour on the days the store has history for', async () => {
    const r = await call('GET', '/api/usage/summary');
    expect(r.status).toBe(200);
    expect(r.body.last_hour).toMatchObject({ cost_usd: 3, requests: 2, tokens: 330, input_tokens: 300, output_tokens: 30 });
    expect(r.body.last_24h).toMatchObject({ cost_usd: 3.5, requests: 3 });
    expect(r.body.usual_hour.days).toBe(3);
    expect(r.body.usual_hour.cost_usd).toBeCloseTo(0.3, 9);
    expect(r.body.cost_ratio).toBeCloseTo(10, 9);
  });

  it('gives spend over time in buckets, in total and for one entity, with empty buckets as zeros', async () => {
    const q = `from=${new Date(NOW - 3 * HOUR).toISOString()}&to=${new Date(NOW).toISOString()}&step=1h`;
    const one = await call('GET', `/api/usage/series?${q}&kind=api_key&entity=k-a`);
    expect(one.status).toBe(200);
    expect(one.body.points.map((p: { t: string; cost_usd: number }) => [p.t, p.cost_usd])).toEqual([
      ['2026-12-03T07:00:00.000Z', 0],
      ['2026-12-03T08:00:00.000Z', 0],
      ['2026-12-03T09:00:00.000Z', 0],
      ['2026-12-03T10:00:00.000Z', 3],
    ]);
    const all = await call('GET', `/api/usage/series?${q}`);
    expect(all.body.points.map((p: { cost_usd: number }) => p.cost_usd)).toEqual([0, 0.5, 0, 3]);
    expect(all.body).toMatchObject({ step_seconds: 3600, kind: null, entity: null });
  });

  it('never answers more than 2000 buckets, also when from is not on a bucket boundary', async () => {
    // 2000 minutes from half a minute past: the first bucket starts at the whole minute, so the range spans 2001.
    const from = NOW - 2000 * MIN - 30_000;
    const to = NOW - 30_000;
    const over = await call('GET', `/api/usage/series?step=1m&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`);
    expect(over.status, JSON.stringify(over.body)).toBe(400);
    expect(over.body.message).toMatch(/more than 2000 points/);
    const exact = await call('GET', `/api/usage/series?step=1m&from=${new Date(from + 30_000).toISOString()}&to=${new Date(to + 30_000).toISOString()}`);
    expect(exact.status, JSON.stringify(exact.body)).toBe(200);
    expect(exact.body.points).toHaveLength(2000);
  });

  it('ranks the entities of a kind by spend', async () => {
    const r = await call('GET', '/api/usage/top?kind=api_key');
    expect(r.body.entities.map((e: { id: string; cost_usd: number; tenant: string }) => [e.id, e.cost_usd, e.tenant])).toEqual([
      ['k-a', 3, 'acme'],
      ['k-b', 0.5, 'globex'],
    ]);
    const tenants = await call('GET', `/api/usage/top?kind=tenant&from=${new Date(NOW - 4 * DAY).toISOString()}&limit=1`);
    expect(tenants.body.entities.map((e: { id: string }) => e.id)).toEqual(['acme']);
  });

  it('refuses queries it cannot answer well, saying why', async () => {
    expect((await call('GET', '/api/usage/series?step=30s')).body.message).toMatch(/whole minutes/);
    expect((await call('GET', `/api/usage/series?step=1m&from=${new Date(NOW - 7 * DAY).toISOString()}`)).body.message).toMatch(/more than 2000 points/);
    expect((await call('GET', '/api/usage/series?entity=k-a')).body.message).toMatch(/^query.entity: needs kind too/);
    // 1970 to 2100 by the minute: refused before anything is read, naming the limit.
    const wide = await call('GET', '/api/usage/series?from=1970-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&step=1m');
    expect(wide.status).toBe(400);
    expect(wide.body.message).toMatch(/more than 2000 points/);
    expect((await call('GET', `/api/usage/top?kind=api_key&from=${new Date(NOW).toISOString()}&to=${new Date(NOW - HOUR).toISOString()}`)).status).toBe(400);
    expect((await call('GET', '/api/usage/summary', undefined, null)).status).toBe(401);
    expect((await call('GET', '/api/usage/top?kind=api_key', undefined, t.gatewayToken)).status).toBe(403);
  });
});

describe('POST /api/replay', () => {
  const trial = { name: 'trial', scope: 'api_key', period: { calendar: 'day', timezone: 'UTC' }, limits: { cost_usd: 2 }, action: 'revoke' };

  it('runs a policy that is not saved over stored usage and reports what would have fired, acting on nothing', async () => {
    const r = await call('POST', '/api/replay', { policy: trial, from: new Date(NOW - DAY).toISOString(), to: new Date(NOW).toISOString(), step: '1h' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ticks: 25, policies: ['trial'], anomaly: false });
    expect(r.body.findings.map((f: { at: string; entity: string; level: string; action: string }) => [f.at, f.entity, f.level, f.action])).toEqual([
      ['2026-12-03T10:30:00.000Z', 'api_key k-a', '50%', 'alert'],
      ['2026-12-03T10:30:00.000Z', 'api_key k-a', '80%', 'alert'],
      ['2026-12-03T10:30:00.000Z', 'api_key k-a', '100%', 'revoke'],
    ]);
    expect(t.app.enforcement!.snapshot().entries).toEqual([]);
    expect((await call('GET', '/api/policies')).body.policies).toEqual([]);
  });

  it('names the field of an invalid policy, and refuses ranges it cannot replay', async () => {
    const bad = await call('POST', '/api/replay', { policy: { ...trial, period: { calendar: 'day', timezone: 'Mars/Base' } }, from: '2026-12-01', to: '2026-12-02' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_request');
    expect(bad.body.errors[0]).toMatch(/^body\.policy\.period\.timezone: /);
    const long = await call('POST', '/api/replay', { policy: trial, from: '2026-01-01', to: '2026-12-01', step: '1h' });
    expect(long.body.message).toMatch(/more than 2016/);
    expect((await call('POST', '/api/replay', { policy: trial, from: 'last week', to: '2026-12-01' })).body.message).toMatch(/^body\.from: expected an ISO 8601 date/);
    expect((await call('POST', '/api/replay', { policy_name: 'nope', from: '2026-12-01', to: '2026-12-02' })).status).toBe(404);
    expect((await call('POST', '/api/replay', { from: '2026-12-01', to: '2026-12-02' }, t.gatewayToken)).status).toBe(403);
  });
});

describe('web UI files', () => {
  it('serves the page and its bundle without a token, under a strict Content-Security-Policy', async () => {
    const page = await call('GET', '/', undefined, null);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self';/);
    expect(page.body).toContain('<script src="/ui/app.js" defer></script>');
    const js = await call('GET', '/ui/app.js', undefined, null);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.body.length).toBeGreaterThan(10_000);
    const css = await call('GET', '/ui/app.css', undefined, null);
    expect(css.body).toContain('.uplot');
  });
});
