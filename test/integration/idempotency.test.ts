// Idempotency-Key on POST /v1/enforcement is kept in the store for its window (24 h): a revoke replayed after a
// restart answers the first result and does not revoke again a key an operator restored meanwhile.
import { afterEach, describe, expect, it } from 'vitest';
import { createIdempotencyRepo } from '../../store/idempotency-repo.ts';
import { startApp, tempDataDir, type TestApp } from '../helpers/app.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function enforce(t: TestApp, body: unknown, key?: string) {
  const res = await fetch(`${t.apiUrl}/v1/enforcement`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: (await res.json()) as any };
}

async function current(t: TestApp, kind: string, id: string) {
  const res = await fetch(`${t.apiUrl}/v1/enforcement/${kind}/${id}`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  return ((await res.json()) as any).current;
}

describe('Idempotency-Key across restarts', () => {
  it('a replayed revoke after a restart answers the first result and does not re-revoke a restored key', async () => {
    let clock = Date.now();
    const dataDir = tempDataDir();
    // The same database after the restart too (a ClickHouse server holds many; chdb has one per data directory).
    const database = `tk_test_${process.pid}_idem_${Math.random().toString(36).slice(2, 10)}`;
    const boot = async () => {
      const t = await startApp({ dataDir, database, startLoop: false, now: () => clock });
      return t;
    };
    let t = await boot();
    const revoke = { action: 'revoke', kind: 'api_key', id: 'k-idem', reason: 'leaked' };
    const first = await enforce(t, revoke, 'revoke-k-idem-1');
    expect(first.status).toBe(200);
    expect(first.body.entry).toMatchObject({ kind: 'api_key', id: 'k-idem', action: 'revoke' });
    // An operator restores the key.
    expect((await enforce(t, { action: 'restore', kind: 'api_key', id: 'k-idem' })).body.removed).toEqual({ kind: 'api_key', id: 'k-idem' });
    await t.close();

    t = await boot();
    cleanups.push(() => t.close({ cleanup: true }));
    clock += 3_600_000;
    const replay = await enforce(t, revoke, 'revoke-k-idem-1');
    expect(replay.status).toBe(200);
    expect(replay.replayed).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(await current(t, 'api_key', 'k-idem')).toBeNull();
    // The same key with another body is refused, also after the restart.
    expect((await enforce(t, { ...revoke, reason: 'other' }, 'revoke-k-idem-1')).status).toBe(422);

    // Past the 24 h window the key is forgotten: the request acts again.
    clock += 24 * 3_600_000;
    const late = await enforce(t, revoke, 'revoke-k-idem-1');
    expect(late.replayed).toBeNull();
    expect(late.body.version).toBeGreaterThan(first.body.version);
    expect(await current(t, 'api_key', 'k-idem')).toMatchObject({ action: 'revoke' });
  });

  it('two concurrent requests with one key act once', async () => {
    const t = await startApp({ startLoop: false });
    cleanups.push(() => t.close({ cleanup: true }));
    const body = { action: 'throttle', kind: 'user', id: 'u-idem', limit: { requests_per_minute: 3 } };
    const [a, b] = await Promise.all([enforce(t, body, 'same-key'), enforce(t, body, 'same-key')]);
    expect(a.body).toEqual(b.body);
    expect([a.replayed, b.replayed].filter((r) => r === 'true')).toHaveLength(1);
    const history = await fetch(`${t.apiUrl}/v1/enforcement/user/u-idem`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    expect(((await history.json()) as any).history).toHaveLength(1);
  });

  it('a retry whose body has its keys in another order is the same request; another value is a 422', async () => {
    const t = await startApp({ startLoop: false });
    cleanups.push(() => t.close({ cleanup: true }));
    const first = await enforce(t, { action: 'throttle', kind: 'user', id: 'u-order', reason: 'r', limit: { requests_per_minute: 3, tokens_per_minute: 100 } }, 'order-key');
    expect(first.status).toBe(200);
    const reordered = await enforce(t, { limit: { tokens_per_minute: 100, requests_per_minute: 3 }, reason: 'r', id: 'u-order', kind: 'user', action: 'throttle' }, 'order-key');
    expect(reordered).toMatchObject({ status: 200, replayed: 'true', body: first.body });
    const other = await enforce(t, { action: 'throttle', kind: 'user', id: 'u-order', reason: 'r', limit: { requests_per_minute: 4, tokens_per_minute: 100 } }, 'order-key');
    expect(other).toMatchObject({ status: 422, body: { error: 'idempotency_key_reused' } });
  });

  it('replays a key stored by the previous release, whose fingerprint was the body as sent', async () => {
    const t = await startApp({ startLoop: false });
    cleanups.push(() => t.close({ cleanup: true }));
    const body = { action: 'revoke', kind: 'api_key', id: 'k-upgrade', reason: 'leaked' };
    // The answer the older release gave and stored; the key was restored since.
    const answer = (await enforce(t, body)).body;
    await enforce(t, { action: 'restore', kind: 'api_key', id: 'k-upgrade' });
    const now = Date.now();
    await createIdempotencyRepo(t.app.store).put('enforcement', 'before-upgrade', { fingerprint: JSON.stringify(body), response: JSON.stringify(answer) }, now, now + 3_600_000);
    const retry = await enforce(t, body, 'before-upgrade');
    expect(retry).toMatchObject({ status: 200, replayed: 'true', body: answer });
    expect(await current(t, 'api_key', 'k-upgrade')).toBeNull();
  });
});
