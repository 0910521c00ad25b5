import { describe, expect, it } from 'vitest';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { api } from '../helpers/admin-api.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { appPerTest } from '../helpers/app-per-test.ts';
import { usageEvent } from '../helpers/events.ts';

// The state a quota status reports: `warning` from the highest configured threshold below 1.0, `exceeded` at 1.0.

const YAML = `
detector: { interval: 1h }
policies:
  - { name: hard-only, scope: api_key, period: { rolling: 1h }, limits: { requests: 100 }, thresholds: [1.0] }
  - { name: late-warning, scope: api_key, period: { rolling: 1h }, limits: { requests: 100 }, thresholds: [0.5, 0.9, 1.0] }
  - { name: default, scope: api_key, period: { rolling: 1h }, limits: { requests: 100 } }
`;

const slot = appPerTest();
let t: TestApp | undefined;

describe('quota status state', () => {
  it('is warning only from the highest threshold below 1.0, and never warning without one', async () => {
    t = slot.app = await startApp({ yaml: YAML, startLoop: false });
    const now = Date.now();
    await createUsageRepo(t.app.store).insert([
      usageEvent({ apiKey: 'k85', requests: 85, time: now - 120_000 }),
      usageEvent({ apiKey: 'k95', requests: 95, time: now - 120_000 }),
      usageEvent({ apiKey: 'k100', requests: 100, time: now - 120_000 }),
    ]);
    const states = async (id: string) => {
      const s = await api(t!, 'GET', `/api/quotas/status?scope=api_key&id=${id}`);
      return Object.fromEntries((s.body.policies as { policy: string; state: string }[]).map((p) => [p.policy, p.state]));
    };
    expect(await states('k85')).toEqual({ 'hard-only': 'ok', 'late-warning': 'ok', default: 'warning' });
    expect(await states('k95')).toEqual({ 'hard-only': 'ok', 'late-warning': 'warning', default: 'warning' });
    expect(await states('k100')).toEqual({ 'hard-only': 'exceeded', 'late-warning': 'exceeded', default: 'exceeded' });
  });

  it('an override raises the dimensions it names and keeps the policy\'s other limits', async () => {
    t = slot.app = await startApp({
      startLoop: false,
      yaml: 'detector: { interval: 1h }\npolicies:\n  - { name: capped, scope: api_key, period: { calendar: day }, limits: { cost_usd: 10, requests: 5 }, action: revoke }\n',
    });
    expect((await api(t, 'PUT', '/api/policies/capped/overrides/vip', { limits: { cost_usd: 100 } })).status).toBe(200);
    const fresh = await api(t, 'GET', '/api/quotas/status?scope=api_key&id=vip');
    expect(fresh.body.policies[0].dimensions).toEqual({ cost_usd: { used: 0, limit: 100, utilization: 0, remaining: 100 }, requests: { used: 0, limit: 5, utilization: 0, remaining: 5 } });
    await createUsageRepo(t.app.store).insert([usageEvent({ apiKey: 'vip', costUsd: 20, requests: 6, time: Date.now() - 60_000 })]);
    await t.app.loop!.tickNow();
    // $20 is within the bigger budget, but the 6 requests pass the request cap the override did not name.
    expect(t.app.enforcement!.get('api_key', 'vip')).toMatchObject({ action: 'revoke', source: 'quota', ref: 'capped' });
    const status = await api(t, 'GET', '/api/quotas/status?scope=api_key&id=vip');
    expect(status.body.policies[0]).toMatchObject({ state: 'exceeded', dimensions: { cost_usd: { limit: 100 }, requests: { used: 6, limit: 5 } } });
    // What the operator set is listed as set.
    expect((await api(t, 'GET', '/api/policies/capped/overrides')).body.overrides).toMatchObject([{ entity: 'vip', limits: { cost_usd: 100 } }]);
  });
});
