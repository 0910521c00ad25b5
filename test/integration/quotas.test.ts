import { afterEach, describe, expect, it } from 'vitest';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { api } from '../helpers/admin-api.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { usageEvent } from '../helpers/events.ts';

const YAML = `
detector: { interval: 1h }
policies:
  - name: daily-cost
    scope: api_key
    period: { calendar: day, timezone: UTC }
    limits: { cost_usd: 10, requests: 100 }
    action: revoke
  - name: tenant-rolling
    scope: tenant
    period: { rolling: 1h }
    limits: { tokens: 1000 }
    action: { throttle: { requests_per_minute: 5 } }
  - name: free-plan
    scope: api_key
    match: { plan: free }
    period: { calendar: month, timezone: Europe/Berlin }
    limits: { cost_usd: 1 }
    action: alert
`;

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close({ cleanup: true });
  t = undefined;
});

async function firings(app: TestApp): Promise<{ policy: string; entity: string; threshold: number }[]> {
  return app.app.store.query(`SELECT policy, entity, threshold FROM ${app.app.store.table('quota_firings')} ORDER BY policy, entity, threshold`);
}

describe('quota evaluation against the store', () => {
  it('fires each threshold once per period, also across a restart, and revokes at the hard limit', async () => {
    t = await startApp({ yaml: YAML, startLoop: false });
    const repo = createUsageRepo(t.app.store);
    await repo.insert([usageEvent({ apiKey: 'k1', costUsd: 6 })]);
    await t.app.loop!.tickNow();
    expect(await firings(t)).toEqual([{ policy: 'daily-cost', entity: 'k1', threshold: 0.5 }]);
    await t.app.loop!.tickNow();
    expect(await firings(t)).toHaveLength(1);
    const { dataDir, database } = t;
    await t.close();

    t = await startApp({ yaml: YAML, dataDir, database, startLoop: false });
    await t.app.loop!.tickNow();
    expect(await firings(t)).toHaveLength(1);
    await createUsageRepo(t.app.store).insert([usageEvent({ apiKey: 'k1', costUsd: 5 })]);
    await t.app.loop!.tickNow();
    expect((await firings(t)).map((f) => f.threshold)).toEqual([0.5, 0.8, 1]);
    expect(t.app.enforcement!.get('api_key', 'k1')).toMatchObject({ action: 'revoke', source: 'quota', ref: 'daily-cost' });
  });

  it('lifts a quota revocation by itself when the period ends, and a detector down across the boundary starts clean', async () => {
    const day = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    let now = day + 23 * 3_600_000;
    t = await startApp({ yaml: YAML, startLoop: false, now: () => now });
    await createUsageRepo(t.app.store).insert([usageEvent({ apiKey: 'late', costUsd: 12, time: now - 60_000 })]);
    await t.app.loop!.tickNow();
    expect(t.app.enforcement!.get('api_key', 'late')?.expires_at).toBe(new Date(day + 86_400_000).toISOString());
    // Down for two hours across midnight: the first tick after is in the new day.
    now = day + 25 * 3_600_000;
    await t.app.loop!.tickNow();
    expect(t.app.enforcement!.get('api_key', 'late')).toBeUndefined();
    expect((await firings(t)).filter((f) => f.entity === 'late')).toHaveLength(3);
  });

  it('counts composite limits: requests exceed while cost does not', async () => {
    t = await startApp({ yaml: YAML, startLoop: false });
    await createUsageRepo(t.app.store).insert(Array.from({ length: 101 }, () => usageEvent({ apiKey: 'chatty', costUsd: 0.001 })));
    await t.app.loop!.tickNow();
    expect(t.app.enforcement!.get('api_key', 'chatty')?.reason).toContain('requests');
  });

  it('throttles on a rolling window and lifts it when usage leaves the window', async () => {
    const base = Date.now();
    let now = base;
    t = await startApp({ yaml: YAML, startLoop: false, now: () => now });
    await createUsageRepo(t.app.store).insert([usageEvent({ tenant: 'acme', inputTokens: 1500, time: base - 10 * 60_000 })]);
    await t.app.loop!.tickNow();
    expect(t.app.enforcement!.get('tenant', 'acme')).toMatchObject({ action: 'throttle', limit: { requests_per_minute: 5 } });
    now = base + 55 * 60_000;
    await t.app.loop!.tickNow();
    expect(t.app.enforcement!.get('tenant', 'acme')).toBeUndefined();
  });

  it('applies match selectors on kept attributes only', async () => {
    t = await startApp({ yaml: YAML, startLoop: false });
    await createUsageRepo(t.app.store).insert([usageEvent({ apiKey: 'free-key', costUsd: 2, attributes: { plan: 'free' } }), usageEvent({ apiKey: 'pro-key', costUsd: 2, attributes: { plan: 'pro' } })]);
    await t.app.loop!.tickNow();
    const fired = (await firings(t)).filter((f) => f.policy === 'free-plan').map((f) => f.entity);
    expect(new Set(fired)).toEqual(new Set(['free-key']));
  });
});

describe('admin API: /api/policies, overrides, /api/quotas/status', () => {
  const policy = { name: 'api-daily', scope: 'user', period: { calendar: 'day', timezone: 'America/New_York' }, limits: { tokens: 1000 }, action: 'revoke' };

  it('requires the admin token (401 without, 403 for the gateway token)', async () => {
    t = await startApp({ yaml: YAML, startLoop: false });
    expect((await fetch(`${t.apiUrl}/api/policies`)).status).toBe(401);
    expect((await api(t, 'GET', '/api/policies', undefined, 'wrong')).status).toBe(401);
    expect((await api(t, 'POST', '/api/policies', policy, t.gatewayToken)).status).toBe(403);
    expect((await api(t, 'GET', '/api/quotas/status?scope=api_key&id=x', undefined, t.gatewayToken)).status).toBe(200);
  });

  it('creates, reads, updates, versions and deletes a policy, and it survives a restart', async () => {
    t = await startApp({ yaml: YAML, startLoop: false });
    const created = await api(t, 'POST', '/api/policies', policy);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'api-daily', source: 'api', version: 1, policy: { limits: { tokens: 1000 }, period: { calendar: 'day', timezone: 'America/New_York' } } });
    expect((await api(t, 'POST', '/api/policies', policy)).status).toBe(409);
    const updated = await api(t, 'PUT', '/api/policies/api-daily', { ...policy, limits: { tokens: 2000 } });
    expect(updated.body).toMatchObject({ version: 2, policy: { limits: { tokens: 2000 } } });
    const list = await api(t, 'GET', '/api/policies');
    expect(list.body.policies.map((p: { name: string; source: string }) => `${p.name}:${p.source}`)).toEqual(['daily-cost:config', 'tenant-rolling:config', 'free-plan:config', 'api-daily:api']);
    const { dataDir, database } = t;
    await t.close();
    t = await startApp({ yaml: YAML, dataDir, database, startLoop: false });
    const got = await api(t, 'GET', '/api/policies/api-daily');
    expect(got.body).toMatchObject({ version: 2, policy: { limits: { tokens: 2000 } } });
    expect(got.body.history.map((h: { version: number }) => h.version)).toEqual([1, 2]);
    expect((await api(t, 'DELETE', '/api/policies/api-daily')).body).toEqual({ name: 'api-daily', version: 3 });
    expect((await api(t, 'GET', '/api/policies/api-daily')).status).toBe(404);
    expect((await api(t, 'DELETE', '/api/policies/api-daily')).status).toBe(404);
  });

  it('rejects invalid bodies with the path of each problem, and config policies as read-only', async () => {
    t = await startApp({ yaml: YAML, startLoop: false });
    const bad = await api(t, 'POST', '/api/policies', { name: 'x', scope: 'api_key', period: { calendar: 'fortnight' }, limits: { cost_usd: -1, bogus: 1 } });
    expect(bad.status).toBe(400);
    const text = bad.body.errors.join('\n') as string;
    expect(text).toMatch(/period\.calendar/);
    expect(text).toMatch(/limits\.cost_usd/);
    expect(text).toMatch(/limits\.bogus: unknown key/);
    const notJson = await fetch(`${t.apiUrl}/api/policies`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: '{nope' });
    expect(notJson.status).toBe(400);
    expect((await api(t, 'PUT', '/api/policies/daily-cost', { ...policy, name: 'daily-cost' })).status).toBe(409);
    expect((await api(t, 'DELETE', '/api/policies/daily-cost')).status).toBe(409);
    expect((await api(t, 'PUT', '/api/policies/nope', policy)).status).toBe(404);
  });

  it('gives one key a bigger budget through an override', async () => {
    t = await startApp({ yaml: YAML, startLoop: false });
    expect((await api(t, 'PUT', '/api/policies/daily-cost/overrides/vip', { limits: { cost_usd: 100 } })).status).toBe(200);
    expect((await api(t, 'PUT', '/api/policies/daily-cost/overrides/vip', { limits: { cost_usd: 'lots' } })).status).toBe(400);
    expect((await api(t, 'PUT', '/api/policies/nope/overrides/vip', { limits: { cost_usd: 1 } })).status).toBe(404);
    await createUsageRepo(t.app.store).insert([usageEvent({ apiKey: 'vip', costUsd: 20 }), usageEvent({ apiKey: 'normal', costUsd: 20 })]);
    await t.app.loop!.tickNow();
    expect(t.app.enforcement!.get('api_key', 'vip')).toBeUndefined();
    expect(t.app.enforcement!.get('api_key', 'normal')).toBeDefined();
    const status = await api(t, 'GET', '/api/quotas/status?scope=api_key&id=vip');
    expect(status.body.policies[0]).toMatchObject({ policy: 'daily-cost', state: 'ok', dimensions: { cost_usd: { used: 20, limit: 100, utilization: 0.2, remaining: 80 } } });
    expect((await api(t, 'GET', '/api/policies/daily-cost/overrides')).body.overrides).toMatchObject([{ entity: 'vip', limits: { cost_usd: 100 } }]);
    expect((await api(t, 'DELETE', '/api/policies/daily-cost/overrides/vip')).status).toBe(200);
    expect((await api(t, 'DELETE', '/api/policies/daily-cost/overrides/vip')).status).toBe(404);
  });

  it('reports status with every limited dimension, state, period and projected exhaustion', async () => {
    t = await startApp({ yaml: YAML, startLoop: false });
    const now = Date.now();
    await createUsageRepo(t.app.store).insert([usageEvent({ apiKey: 'burner', costUsd: 3, time: now - 60_000 }), usageEvent({ apiKey: 'burner', costUsd: 6, time: now - 30_000, cacheReadTokens: 0, costSource: 'unpriced' })]);
    const s = await api(t, 'GET', '/api/quotas/status?scope=api_key&id=burner');
    const daily = s.body.policies.find((p: { policy: string }) => p.policy === 'daily-cost');
    expect(daily).toMatchObject({ state: 'warning', unpriced_requests: 1, dimensions: { cost_usd: { used: 9, limit: 10, remaining: 1 }, requests: { used: 2, limit: 100 } } });
    const dayStart = Math.floor(now / 86_400_000) * 86_400_000;
    expect(daily.period).toEqual({ start: new Date(dayStart).toISOString(), end: new Date(dayStart + 86_400_000).toISOString() });
    // $9 in the last 15 minutes → $1 left lasts about 100 s at that rate.
    const eta = Date.parse(daily.projected_exhaustion_at as string) - now;
    expect(eta).toBeGreaterThan(60_000);
    expect(eta).toBeLessThan(200_000);
    const unknown = await api(t, 'GET', '/api/quotas/status?scope=api_key&id=nobody');
    expect(unknown.body.policies).toMatchObject([{ policy: 'daily-cost', state: 'ok', dimensions: { cost_usd: { used: 0 } }, projected_exhaustion_at: null }]);
    const top = await api(t, 'GET', '/api/quotas/status?scope=api_key&limit=5');
    expect(top.body.policies[0].entities[0]).toMatchObject({ id: 'burner' });
    expect((await api(t, 'GET', '/api/quotas/status')).status).toBe(400);
  });
});
