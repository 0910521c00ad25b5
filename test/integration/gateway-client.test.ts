import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRevocationPoller, type ChangeEvent, type RevocationPoller } from '../../client/index.ts';
import { startApp, tempDataDir, type TestApp } from '../helpers/app.ts';
import { freePort } from '../helpers/fake-upstream.ts';
import { waitFor } from '../helpers/wait.ts';

async function enforce(t: TestApp, body: unknown): Promise<number> {
  const res = await fetch(`${t.apiUrl}/v1/enforcement`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { version: number }).version;
}

describe('gateway client: createRevocationPoller', () => {
  let t: TestApp;
  let port: number;
  const dataDir = tempDataDir();
  let poller: RevocationPoller;
  const changes: ChangeEvent[] = [];
  const errors: Error[] = [];

  beforeAll(async () => {
    port = await freePort();
    t = await startApp({ dataDir, apiPort: port, startLoop: false });
    await enforce(t, { action: 'revoke', kind: 'api_key', id: 'k-before', reason: 'listed before the poller started' });
    poller = createRevocationPoller({ url: t.apiUrl, token: t.gatewayToken, waitSeconds: 2, minBackoffMs: 50, maxBackoffMs: 200, maxStalenessMs: 60_000 });
    poller.on('change', (c: ChangeEvent) => changes.push(c));
    poller.on('error', (e: Error) => errors.push(e));
    await poller.ready();
  });
  afterAll(async () => {
    await poller.close();
    await t.close({ cleanup: true });
  });

  it('loads the full list first, then follows deltas through the long poll', async () => {
    expect(poller.isBlocked('api_key', 'k-before')).toBe(true);
    expect(poller.isBlocked('api_key', 'k-other')).toBe(false);
    expect(changes[0]).toMatchObject({ full: true, removed: [] });
    expect(poller.lastSyncAt).toBeGreaterThan(0);
    const v = await enforce(t, { action: 'revoke', kind: 'tenant', id: 't-1', reason: 'unpaid' });
    await waitFor(() => poller.version === v, { what: `poller at version ${v}` });
    expect(poller.isBlocked('tenant', 't-1')).toBe(true);
    expect(changes.at(-1)).toMatchObject({ version: v, full: false, added: [{ kind: 'tenant', id: 't-1', action: 'revoke' }] });
    // An open long poll vouches for the list.
    await waitFor(() => poller.staleness() === 0, { what: 'staleness 0 during the long poll' });
  });

  it('throttles locally with a token bucket and restores', async () => {
    const v = await enforce(t, { action: 'throttle', kind: 'api_key', id: 'k-slow', reason: 'easy', limit: { requests_per_minute: 120 } });
    await waitFor(() => poller.version === v, { what: 'throttle seen' });
    expect(poller.throttleFor('api_key', 'k-slow')).toEqual({ rate: 2, burst: 2, limit: { requests_per_minute: 120 } });
    expect(poller.isBlocked('api_key', 'k-slow')).toBe(false);
    expect(poller.limitFor('api_key', 'k-slow')).toEqual({ requests_per_minute: 120 });
    expect(poller.limitFor('tenant', 't-1')).toBeUndefined();
    const e = [{ kind: 'api_key', id: 'k-slow' }];
    expect(poller.check(e).allowed).toBe(true);
    expect(poller.check(e).allowed).toBe(true);
    const third = poller.check(e);
    expect(third).toMatchObject({ allowed: false, status: 429, denial: { decision: 'throttle', reason: 'easy' } });
    expect(poller.check([{ kind: 'tenant', id: 't-1' }])).toMatchObject({ allowed: false, status: 403 });
    const r = await enforce(t, { action: 'restore', kind: 'api_key', id: 'k-slow' });
    await waitFor(() => poller.version === r, { what: 'restore seen' });
    expect(poller.throttleFor('api_key', 'k-slow')).toBeUndefined();
    expect(changes.at(-1)).toMatchObject({ removed: [{ kind: 'api_key', id: 'k-slow' }] });
    expect(poller.check(e).allowed).toBe(true);
  });

  it('keeps the last good list while tollkeeper is down, reports staleness, and catches up after a restart', async () => {
    const before = poller.version!;
    await t.close();
    await waitFor(() => errors.length > 0 && poller.staleness() > 0, { what: 'the poller noticing the outage' });
    expect(poller.isBlocked('tenant', 't-1')).toBe(true);
    expect(poller.version).toBe(before);
    const strict = createRevocationPoller({ url: `http://127.0.0.1:${port}`, token: t.gatewayToken, failMode: 'closed', maxStalenessMs: 100, minBackoffMs: 50 });
    try {
      // Never synced, failing closed: every request is refused with 503.
      expect(strict.check([{ kind: 'api_key', id: 'anyone' }])).toMatchObject({ allowed: false, status: 503, denial: { source: 'staleness' } });
      t = await startApp({ dataDir, apiPort: port, startLoop: false });
      const v = await enforce(t, { action: 'restore', kind: 'tenant', id: 't-1' });
      await waitFor(() => poller.version === v, { what: 'poller caught up after the restart' });
      expect(poller.isBlocked('tenant', 't-1')).toBe(false);
      expect(poller.isBlocked('api_key', 'k-before')).toBe(true);
      await strict.ready();
      expect(strict.check([{ kind: 'api_key', id: 'anyone' }]).allowed).toBe(true);
    } finally {
      await strict.close();
    }
  });

  it('reports a wrong token as an error and keeps trying', async () => {
    const bad = createRevocationPoller({ url: t.apiUrl, token: 'wrong-token-wrong', minBackoffMs: 20, maxBackoffMs: 50 });
    const seen: Error[] = [];
    bad.on('error', (e: Error) => seen.push(e));
    try {
      await waitFor(() => seen.length >= 2, { what: 'two errors' });
      expect(seen[0]!.message).toMatch(/answered 401/);
      expect(bad.staleness()).toBe(Infinity);
      expect(bad.version).toBeUndefined();
    } finally {
      await bad.close();
    }
  });
});
