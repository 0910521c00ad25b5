import { describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { appPerTest } from '../helpers/app-per-test.ts';
import { waitFor } from '../helpers/wait.ts';

// The revocation list's conditional requests as gateways and HTTP caches send them, on both listeners.

const slot = appPerTest();
let t: TestApp | undefined;

async function revoke(app: TestApp, id: string): Promise<number> {
  const res = await fetch(`${app.apiUrl}/v1/enforcement`, {
    method: 'POST',
    headers: { authorization: `Bearer ${app.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'revoke', kind: 'api_key', id, reason: 'test' }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { version: number }).version;
}

describe('GET /v1/revocations conditional requests', () => {
  it('answers If-None-Match per HTTP: a list of tags, weak tags and * all match the current version', async () => {
    t = slot.app = await startApp({ startLoop: false });
    await revoke(t, 'k1');
    const v = await revoke(t, 'k2');
    for (const base of [t.apiUrl, t.gatewayUrl]) {
      const get = (inm?: string, query = '') =>
        fetch(`${base}/v1/revocations${query}`, { headers: { authorization: `Bearer ${t!.gatewayToken}`, ...(inm !== undefined ? { 'if-none-match': inm } : {}) } });
      const plain = await get();
      expect(plain.headers.get('etag'), base).toBe(`"${v}"`);
      const cases: [string, number][] = [
        [`"${v}"`, 304],
        [`W/"${v}"`, 304],
        [`"${v - 1}", "${v}"`, 304],
        [`W/"${v - 1}",W/"${v}"`, 304],
        ['*', 304],
        [`"${v - 1}"`, 200],
        [`"${v - 1}", "garbage"`, 200],
        ['garbage', 200],
        ['', 200],
      ];
      for (const [inm, status] of cases) {
        const res = await get(inm);
        expect(res.status, `${base} If-None-Match: ${inm}`).toBe(status);
        expect(res.headers.get('etag')).toBe(`"${v}"`);
        await res.arrayBuffer();
      }
      // A long-poll whose tags include the current version waits like one with that tag alone; `*` answers at once.
      const star = await get('*', '?wait=30');
      expect(star.status).toBe(304);
      const ahead = (await (await get(undefined, `?since=${v + 100}`)).json()) as { full: boolean; entries: unknown[] };
      expect(ahead).toMatchObject({ full: true, entries: [{ id: 'k1' }, { id: 'k2' }] });
      // `1e2` once read as version 1 and `1.5` as 1 (a wrong delta); they are refused like any other non-integer.
      for (const q of ['?since=-1', '?since=abc', '?since=1.5', '?since=1e2', '?since=0x10', '?wait=61', '?wait=abc', '?wait=1e400', '?wait=-1']) {
        const res = await get(undefined, q);
        expect(res.status, `${base}${q}`).toBe(400);
        expect(((await res.json()) as { message: string }).message).toMatch(/^query\.(since|wait): /);
      }
    }
  });

  it('a list of tags with the current version long-polls until the version moves', async () => {
    t = slot.app = await startApp({ startLoop: false });
    const v = await revoke(t, 'k1');
    const app = t;
    const pending = fetch(`${app.apiUrl}/v1/revocations?wait=30`, { headers: { authorization: `Bearer ${app.gatewayToken}`, 'if-none-match': `"${v - 1}", W/"${v}"` } });
    await waitFor(() => app.app.gatewayMirror!.waiting === 1, { what: 'the poller parked' });
    const next = await revoke(app, 'k2');
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${next}"`);
    await res.arrayBuffer();
  });

  it.each([
    ['API port', (a: TestApp) => a.apiUrl, (a: TestApp) => a.app.gatewayMirror!.waiting],
    ['gateway listener', (a: TestApp) => a.gatewayUrl, (a: TestApp) => a.app.gateway!.waiting],
  ] as const)('answers every parked long-poll on the %s when the server shuts down, none is cut off', async (_where, urlOf, waiting) => {
    t = slot.app = await startApp({ startLoop: false });
    const v = await revoke(t, 'k1');
    const app = t;
    const polls = Array.from({ length: 30 }, () =>
      fetch(`${urlOf(app)}/v1/revocations?since=${v}&wait=60`, { headers: { authorization: `Bearer ${app.gatewayToken}` } }).then(
        async (r) => ({ status: r.status, body: await r.text() }),
        (err: Error) => ({ status: 0, body: `${err.message} ${String((err.cause as { code?: string } | undefined)?.code ?? err.cause)}` }),
      ),
    );
    await waitFor(() => waiting(app) === 30, { what: '30 pollers parked' });
    await app.close({ cleanup: true });
    t = slot.app = undefined;
    // Answered by the closing server with the unchanged delta, not a reset, long before their 60 s wait.
    for (const a of await Promise.all(polls)) {
      expect(a.status, a.body).toBe(200);
      expect(JSON.parse(a.body)).toMatchObject({ version: v, added: [], removed: [], full: false });
    }
  }, 45_000);
});
