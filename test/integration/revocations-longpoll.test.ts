import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

describe('revocation list long-poll with many gateways', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ startLoop: false });
  });
  afterAll(async () => {
    await t.close({ cleanup: true });
  });

  const poll = (query: string, headers: Record<string, string> = {}, signal?: AbortSignal) =>
    fetch(`${t.apiUrl}/v1/revocations${query}`, { headers: { authorization: `Bearer ${t.gatewayToken}`, ...headers }, ...(signal ? { signal } : {}) });

  it('wakes every waiting poller with the same delta when the list changes', async () => {
    const v = t.app.enforcement!.version;
    const waiting = Array.from({ length: 50 }, () => poll(`?since=${v}&wait=30`, { 'if-none-match': `"${v}"` }));
    await waitFor(() => t.app.gatewayMirror!.waiting === 50, { what: '50 pollers parked' });
    const res = await fetch(`${t.apiUrl}/v1/enforcement`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'revoke', kind: 'agent', id: 'a-loop', reason: 'runaway' }),
    });
    const { version } = (await res.json()) as { version: number };
    const answers = await Promise.all(waiting);
    const bodies = await Promise.all(answers.map(async (a) => ({ status: a.status, etag: a.headers.get('etag'), body: (await a.json()) as any })));
    expect(new Set(bodies.map((b) => JSON.stringify(b)))).toHaveProperty('size', 1);
    expect(bodies[0]).toMatchObject({ status: 200, etag: `"${version}"`, body: { version, full: false, removed: [], added: [{ kind: 'agent', id: 'a-loop' }] } });
    expect(t.app.gatewayMirror!.waiting).toBe(0);
  });

  it('forgets a poller that hangs up before its wait is over', async () => {
    const v = t.app.enforcement!.version;
    const gone = new AbortController();
    const pending = poll(`?since=${v}&wait=30`, {}, gone.signal).catch((err: Error) => err.name);
    await waitFor(() => t.app.gatewayMirror!.waiting === 1, { what: 'one poller parked' });
    gone.abort();
    expect(await pending).toBe('AbortError');
    await waitFor(() => t.app.gatewayMirror!.waiting === 0, { what: 'the waiter dropped' });
  });

  it('answers 304 on a timed-out wait with If-None-Match, and serves the same full body until the version moves', async () => {
    const v = t.app.enforcement!.version;
    const timedOut = await poll(`?wait=0.2`, { 'if-none-match': `"${v}"` });
    expect(timedOut.status).toBe(304);
    const a = await (await poll('')).text();
    const b = await (await poll('')).text();
    expect(b).toBe(a);
    expect(JSON.parse(a)).toMatchObject({ version: v });
  });
});
