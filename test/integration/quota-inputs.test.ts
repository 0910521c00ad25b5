import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config/load.ts';
import { createPolicyRepo } from '../../store/policy-repo.ts';
import { api } from '../helpers/admin-api.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { appPerTest } from '../helpers/app-per-test.ts';
import { cli } from '../helpers/cli.ts';

// What a user can get wrong about quotas, answered clearly: an unknown status scope, a rolling window shorter than
// usage is counted, a replay that reaches into the future.

const YAML = `
detector: { interval: 1h }
policies:
  - { name: daily, scope: api_key, period: { calendar: day }, limits: { cost_usd: 5 } }
  - { name: by-plan, scope: plan, period: { rolling: 1h }, limits: { requests: 10 } }
`;

const slot = appPerTest();
let t: TestApp | undefined;

describe('quota status scope', () => {
  it('answers an entity kind and a policy attribute scope, and a 400 naming the scopes for anything else', async () => {
    t = slot.app = await startApp({ yaml: YAML, startLoop: false });
    const kind = await api(t, 'GET', '/api/quotas/status?scope=api_key&id=nobody');
    expect(kind.status).toBe(200);
    expect(kind.body.policies.map((p: { policy: string }) => p.policy)).toEqual(['daily']);
    const attribute = await api(t, 'GET', '/api/quotas/status?scope=plan&id=free', undefined, t.gatewayToken);
    expect(attribute.status).toBe(200);
    expect(attribute.body.policies.map((p: { policy: string }) => p.policy)).toEqual(['by-plan']);
    // A kind no policy is scoped to is still a real kind: 200, no policies.
    expect(await api(t, 'GET', '/api/quotas/status?scope=conversation&id=c1')).toEqual({ status: 200, body: { scope: 'conversation', id: 'c1', policies: [] } });

    const typo = await api(t, 'GET', '/api/quotas/status?scope=api-key&id=k1');
    expect(typo.status).toBe(400);
    expect(typo.body.error).toBe('invalid_request');
    expect(typo.body.message).toContain('query.scope: unknown scope "api-key" (did you mean "api_key"?)');
    expect(typo.body.message).toContain('plan');
    for (const scope of ['bogus', 'a%20b', '%00', 'x'.repeat(128)]) {
      const r = await api(t, 'GET', `/api/quotas/status?scope=${scope}`);
      expect(r.status, scope).toBe(400);
      expect(r.body.message, scope).toMatch(/^query\.scope: /);
    }
  });
});

describe('rolling window length', () => {
  it('refuses windows under a minute or of part minutes, naming the path and value (API, replay and config)', async () => {
    t = slot.app = await startApp({ yaml: YAML, startLoop: false });
    const base = { scope: 'api_key', limits: { requests: 5 } };
    for (const rolling of ['1ms', '500ms', '30s', '59s', '1m30s']) {
      const r = await api(t, 'POST', '/api/policies', { ...base, name: `r-${rolling}`, period: { rolling } });
      expect(r.status, rolling).toBe(400);
      expect(r.body.message, rolling).toMatch(new RegExp(`^period\\.rolling: "${rolling}" is .*(1m|whole number of minutes)`));
    }
    for (const rolling of ['1m', '90m', '1h30m']) {
      expect((await api(t, 'POST', '/api/policies', { ...base, name: `r-${rolling}`, period: { rolling } })).status, rolling).toBe(201);
    }
    const replay = await api(t, 'POST', '/api/replay', { policy: { ...base, name: 'trial', period: { rolling: '10s' } }, from: '2026-11-01', to: '2026-11-02' });
    expect(replay.status).toBe(400);
    expect(replay.body.message).toContain('period.rolling: "10s"');

    const loaded = loadConfig({ source: 'x.yaml', fileText: 'policies:\n  - { name: p, scope: api_key, period: { rolling: 1ms }, limits: { requests: 1 } }\n', env: {}, flags: {} });
    expect(loaded.ok).toBe(false);
    expect(loaded.ok ? '' : loaded.errors.join('\n')).toMatch(/policies\[0\]\.period\.rolling: .*"1ms" is shorter than the smallest rolling window, 1m/);
  });

  it('keeps a stored policy written before the minimum, its window rounded up to whole minutes', async () => {
    t = slot.app = await startApp({ yaml: YAML, startLoop: false });
    const repo = createPolicyRepo(t.app.store);
    const old = (name: string, rolling: string) => ({ name, version: 1, deleted: false, changedAt: Date.now(), actor: 'admin', body: { name, scope: 'api_key', period: { rolling }, limits: { requests: 5 } } });
    await repo.appendPolicy(old('legacy-ms', '1ms'));
    await repo.appendPolicy(old('legacy-90s', '90s'));
    const { dataDir, database } = t;
    await t.close();
    t = slot.app = await startApp({ yaml: YAML, dataDir, database, startLoop: false });
    expect((await api(t, 'GET', '/api/policies/legacy-ms')).body.policy.period).toEqual({ rolling: '1m' });
    expect((await api(t, 'GET', '/api/policies/legacy-90s')).body.policy.period).toEqual({ rolling: '2m' });
  });
});

describe('replay into the future', () => {
  it('API: a future `to` is replayed up to now and said so; a future `from` is a 400', async () => {
    t = slot.app = await startApp({ yaml: YAML, startLoop: false });
    const before = Date.now();
    const from = new Date(before - 3 * 3_600_000).toISOString();
    const r = await api(t, 'POST', '/api/replay', { from, to: '2099-01-01T00:00:00Z' });
    expect(r.status).toBe(200);
    expect(Date.parse(r.body.to)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(r.body.to)).toBeLessThanOrEqual(Date.now());
    expect(r.body.ticks).toBeLessThanOrEqual(5);
    expect(r.body.notes).toEqual([expect.stringMatching(/^to \(2099-01-01T00:00:00\.000Z\) is in the future: replayed up to now/)]);
    const past = await api(t, 'POST', '/api/replay', { from, to: new Date(before - 3_600_000).toISOString() });
    expect(past.body.notes).toEqual([]);
    const future = await api(t, 'POST', '/api/replay', { from: '2099-01-01', to: '2099-01-02' });
    expect(future.status).toBe(400);
    expect(future.body.message).toMatch(/^body\.from: .* is not in the past/);
  });

  it('CLI: a future --to is replayed up to now and the output says so; a future --from exits 2', async () => {
    t = slot.app = await startApp({ yaml: YAML, startLoop: false });
    const { dataDir } = t;
    await t.close();
    const from = new Date(Date.now() - 2 * 3_600_000).toISOString();
    const out = await cli(['replay', '--data', dataDir, '--from', from, '--to', '2099-01-01', '--step', '1h']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/note: --to \(2099-01-01T00:00:00\.000Z\) is in the future: replayed up to now, 20\d\d-/);
    const bad = await cli(['replay', '--data', dataDir, '--from', '2099-01-01', '--to', '2099-01-02']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not in the past');
    t = slot.app = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);
});
