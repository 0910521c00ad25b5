import { describe, expect, it } from 'vitest';
import { api } from '../helpers/admin-api.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { appPerTest } from '../helpers/app-per-test.ts';

// Operators (and scripts) change policies at the same time: every change gets its own version, nothing is lost.

const slot = appPerTest();
let t: TestApp | undefined;

describe('concurrent policy changes', () => {
  it('numbers concurrent updates 2..n+1, lets one of concurrent creates win, and versions overrides one by one', async () => {
    t = slot.app = await startApp({ startLoop: false });
    const app = t;
    expect((await api(app, 'POST', '/api/policies', { name: 'conc', scope: 'tenant', limits: { requests: 1 } })).status).toBe(201);
    const updates = await Promise.all(Array.from({ length: 8 }, (_, i) => api(app, 'PUT', '/api/policies/conc', { scope: 'tenant', limits: { requests: i + 2 } })));
    expect(updates.map((u) => u.status)).toEqual(Array(8).fill(200));
    expect(updates.map((u) => u.body.version as number).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    const detail = await api(app, 'GET', '/api/policies/conc');
    expect(detail.body.version).toBe(9);
    const last = updates.find((u) => u.body.version === 9)!;
    expect(detail.body.policy.limits).toEqual(last.body.policy.limits);
    expect((detail.body.history as { version: number }[]).map((h) => h.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const creates = await Promise.all(Array.from({ length: 5 }, (_, i) => api(app, 'POST', '/api/policies', { name: 'dup', scope: 'tenant', limits: { requests: i + 1 } })));
    expect(creates.map((c) => c.status).sort()).toEqual([201, 409, 409, 409, 409]);

    const overrides = await Promise.all(Array.from({ length: 4 }, (_, i) => api(app, 'PUT', '/api/policies/conc/overrides/acme', { limits: { requests: 100 + i } })));
    expect(overrides.map((o) => o.body.version as number).sort()).toEqual([1, 2, 3, 4]);
  });
});
