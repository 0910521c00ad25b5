import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../core/config/load.ts';
import { startApp, type TestApp } from '../helpers/app.ts';

// One policy schema: the config file and POST /api/policies accept and refuse the same policies, with the same words.
let t: TestApp;
beforeAll(async () => {
  t = await startApp({ startLoop: false });
});
afterAll(async () => {
  await t.close({ cleanup: true });
});

const BAD: unknown[] = [
  { name: 'x', scope: 'api_key', period: { calendar: 'fortnight' }, limits: { cost_usd: -1, bogus: 1 } },
  { name: 'bad name!', scope: 'api_key', limits: {}, action: { throttle: {} } },
  { name: 'x', scope: 'api_key', limits: { tokens: 1 }, period: { rolling: 'soon' }, thresholds: [] },
  { name: 'x', scope: 'api_key', limits: { tokens: 1 }, period: { calendar: 'day', timezone: 'Mars/Olympus' }, action: 'nuke' },
  { name: 'x', scope: 'api_key', limits: { tokens: 'lots' }, match: { plan: ['a'] }, extra: true },
  { scope: 'api_key', limits: { tokens: 1 } },
  // Passes the schema; only the conversion sees that Feb 30 does not exist.
  { name: 'x', scope: 'api_key', limits: { tokens: 1 }, period: { billing_cycle: { anchor: '2026-02-30' } } },
];

function fromConfig(policy: unknown): string[] {
  const r = loadConfig({ source: 'tk.yaml', fileText: stringify({ policies: [policy] }), env: {}, flags: {} });
  return r.ok ? [] : r.errors.map((e) => e.replace(/^tk\.yaml: policies\[0\]\.?/, ''));
}

async function fromApi(policy: unknown): Promise<{ status: number; errors: string[] }> {
  const res = await fetch(`${t.apiUrl}/api/policies`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(policy) });
  const body = (await res.json()) as { errors?: string[] };
  return { status: res.status, errors: (body.errors ?? []).map((e) => e.replace(/^body\.?/, '')) };
}

describe('one policy schema for the config file and the API', () => {
  it('refuses the same policies with the same messages', async () => {
    for (const policy of BAD) {
      const config = fromConfig(policy);
      const api = await fromApi(policy);
      expect(config.length, JSON.stringify(policy)).toBeGreaterThan(0);
      expect(api.status).toBe(400);
      expect(api.errors, JSON.stringify(policy)).toEqual(config);
    }
  });

  it('accepts the same policy and reads it back in the shape it was written', async () => {
    const policy = { name: 'same', scope: 'tenant', match: { plan: 'free' }, period: { billing_cycle: { anchor: '2026-01-31', timezone: 'Europe/Berlin' } }, limits: { cost_usd: 5 }, thresholds: [0.5, 1], action: { throttle: { requests_per_minute: 10 } } };
    expect(fromConfig(policy)).toEqual([]);
    const created = await fetch(`${t.apiUrl}/api/policies`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(policy) });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { policy: unknown }).policy).toEqual(policy);
  });
});
