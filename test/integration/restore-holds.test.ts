import { describe, expect, it } from 'vitest';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { api } from '../helpers/admin-api.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { appPerTest } from '../helpers/app-per-test.ts';
import { usageEvent } from '../helpers/events.ts';

// A manual restore of a quota revocation holds for the rest of the period, also across a restart, until a worse
// finding (a higher threshold) comes.

const YAML = `
detector: { interval: 1h }
policies:
  - { name: daily-cost, scope: api_key, period: { calendar: day }, limits: { cost_usd: 10 }, thresholds: [0.5, 1.0, 1.5], action: revoke }
`;

const slot = appPerTest();
let t: TestApp | undefined;

describe('manual restore of a quota revocation', () => {
  it('holds through later ticks and a restart, and a higher threshold revokes again; history names who did what', async () => {
    t = slot.app = await startApp({ yaml: YAML, startLoop: false });
    await createUsageRepo(t.app.store).insert([usageEvent({ apiKey: 'k1', costUsd: 11 })]);
    await t.app.loop!.tickNow();
    expect(t.app.enforcement!.get('api_key', 'k1')).toMatchObject({ action: 'revoke', source: 'quota' });
    const restored = await api(t, 'POST', '/v1/enforcement', { action: 'restore', kind: 'api_key', id: 'k1', reason: 'customer paid' });
    expect(restored.body.removed).toEqual({ kind: 'api_key', id: 'k1' });
    await createUsageRepo(t.app.store).insert([usageEvent({ apiKey: 'k1', costUsd: 1 })]);
    await t.app.loop!.tickNow();
    expect(t.app.enforcement!.get('api_key', 'k1')).toBeUndefined();
    const { dataDir, database } = t;
    await t.close();
    t = slot.app = await startApp({ yaml: YAML, dataDir, database, startLoop: false });
    await t.app.loop!.tickNow();
    expect(t.app.enforcement!.get('api_key', 'k1')).toBeUndefined();
    await createUsageRepo(t.app.store).insert([usageEvent({ apiKey: 'k1', costUsd: 4 })]);
    await t.app.loop!.tickNow();
    expect(t.app.enforcement!.get('api_key', 'k1')).toMatchObject({ action: 'revoke', source: 'quota' });
    const history = (await api(t, 'GET', '/v1/enforcement/api_key/k1')).body.history as { action: string; source: string; actor: string }[];
    expect(history.map((h) => [h.action, h.source])).toEqual([['revoke', 'quota'], ['restore', 'manual'], ['revoke', 'quota']]);
    expect(history.every((h) => typeof h.actor === 'string' && h.actor.length > 0)).toBe(true);
  });
});
