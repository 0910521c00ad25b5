import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { KEY_REQUESTS_YAML } from '../helpers/gateway-fixture.ts';
import { parseExposition, type Exposition } from '../helpers/prometheus.ts';
import { waitFor } from '../helpers/wait.ts';

// The gateway listener's worker as the operator sees it, in a process of its own (the default) and in a thread: its
// answers counted on /metrics (the worker sends its counts to the main process about once a second), and a worker
// that dies replaced on the same port with the whole state, so gateways see a brief refusal and then the same
// answers as before.

let t: TestApp;
let gw: Record<string, string>;

async function metrics(): Promise<Exposition> {
  const res = await fetch(`${t.apiUrl}/metrics`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

/** Revocation-list answers the gateway listener has given this file so far. */
let polls = 0;

async function status(path: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(t.gatewayUrl + path, { headers });
  await res.arrayBuffer();
  if (path.startsWith('/v1/revocations')) polls++;
  return res.status;
}

async function enforce(body: unknown): Promise<number> {
  const res = await fetch(`${t.apiUrl}/v1/enforcement`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { version: number }).version;
}

describe.each(['process', 'thread'] as const)('gateway listener worker (%s)', (isolation) => {
  let version = 0;
  beforeAll(async () => {
    polls = 0;
    t = await startApp({ yaml: `${KEY_REQUESTS_YAML}gateway: { listener: ${isolation} }\n` });
    gw = { authorization: `Bearer ${t.gatewayToken}` };
    version = await enforce({ action: 'revoke', kind: 'tenant', id: 't-gone', reason: 'closed account' });
    await waitFor(async () => (await status('/v1/revocations', { ...gw, 'if-none-match': `"${version}"` })) === 304, { what: `the worker at version ${version}` });
  });
  afterAll(async () => {
    await t.close({ cleanup: true });
  });

  it(`runs in ${isolation === 'process' ? 'a process of its own' : 'a thread of the app'}`, () => {
    const { pid, osThreadId } = t.app.gateway!;
    if (isolation === 'process') expect(pid).not.toBe(process.pid);
    else expect(pid).toBe(process.pid);
    if (process.platform === 'linux') expect(osThreadId).toBeGreaterThan(0);
  });

  it('counts its answers on /metrics: authorize decisions by outcome, revocation polls by status', async () => {
    // Counts arrive about once a second: start from a scrape that has every answer given so far.
    const before = await waitFor(async () => {
      const m = await metrics();
      return m.sum('tollkeeper_revocation_polls_total', { listener: 'gateway' }) === polls ? m : null;
    }, { what: 'the polls made so far on /metrics' });
    const gateway = (name: string, labels: Record<string, string>, m: Exposition) => m.sum(name, { ...labels, listener: 'gateway' });
    expect(await status('/v1/authorize', { ...gw, 'x-tollkeeper-api-key': 'k-1' })).toBe(200);
    expect(await status('/v1/authorize', { ...gw, 'x-tollkeeper-api-key': 'k-2' })).toBe(200);
    expect(await status('/v1/authorize', { ...gw, 'x-tollkeeper-tenant': 't-gone' })).toBe(403);
    expect(await status('/v1/revocations', { ...gw, 'if-none-match': `"${version}"` })).toBe(304);
    expect(await status('/v1/revocations', gw)).toBe(200);
    expect(await status('/v1/revocations', {})).toBe(401);
    const moved = (m: Exposition, name: string, labels: Record<string, string>) => gateway(name, labels, m) - gateway(name, labels, before);
    const after = await waitFor(async () => {
      const m = await metrics();
      return moved(m, 'tollkeeper_authorize_decisions_total', {}) >= 3 && moved(m, 'tollkeeper_revocation_polls_total', {}) >= 3 ? m : null;
    }, { what: "the worker's counts on /metrics" });
    expect(moved(after, 'tollkeeper_authorize_decisions_total', { outcome: 'allow' })).toBe(2);
    expect(moved(after, 'tollkeeper_authorize_decisions_total', { outcome: 'deny' })).toBe(1);
    expect(moved(after, 'tollkeeper_revocation_polls_total', { code: '304' })).toBe(1);
    expect(moved(after, 'tollkeeper_revocation_polls_total', { code: '200' })).toBe(1);
    expect(moved(after, 'tollkeeper_revocation_polls_total', { code: '401' })).toBe(1);
    // The API port's answers keep their own label.
    expect(after.sum('tollkeeper_authorize_decisions_total', { listener: 'api' })).toBe(before.sum('tollkeeper_authorize_decisions_total', { listener: 'api' }));
  });

  it('counts its scavenges (for benchmarks): requests that fill its young generation show as collections with a pause', async () => {
    const gateway = t.app.gateway!;
    const before = await gateway.stats();
    // Each answer allocates kilobytes in the worker and its young generation holds a few MiB: bounded by collections, not time.
    const headers = { ...gw, 'x-tollkeeper-api-key': 'k-gc' };
    let after = before;
    for (let i = 0; i < 200 && after.scavenges === before.scavenges; i++) {
      for (let j = 0; j < 50; j++) expect(await status('/v1/authorize', headers)).toBe(200);
      after = await gateway.stats();
    }
    expect(after.scavenges).toBeGreaterThan(before.scavenges);
    expect(after.scavengePauseMs).toBeGreaterThan(before.scavengePauseMs);
    // Its event loop's counters, for the benchmarks' busy share.
    expect(after.active).toBeGreaterThan(before.active);
  });

  it('replaces a worker that dies: on the same port, with the list as it is now, counted and logged', async () => {
    const gateway = t.app.gateway!;
    const url = t.gatewayUrl;
    const thread = gateway.osThreadId;
    const pid = gateway.pid;
    await gateway.killWorker();
    // While the worker is down the listener refuses connections; then the new one answers from the whole state.
    const answered = await waitFor(async () => status('/v1/authorize', { ...gw, 'x-tollkeeper-tenant': 't-gone' }).catch(() => null), { what: 'the gateway listener answering again' });
    expect(answered).toBe(403);
    expect(t.gatewayUrl).toBe(url);
    expect(gateway.restarts).toBe(1);
    if (thread !== undefined) expect(gateway.osThreadId).not.toBe(thread);
    if (isolation === 'process') expect(gateway.pid).not.toBe(pid);
    // Changes made after the restart reach the new worker too.
    const next = await enforce({ action: 'restore', kind: 'tenant', id: 't-gone', reason: 'reopened' });
    await waitFor(async () => (await status('/v1/revocations', { ...gw, 'if-none-match': `"${next}"` })) === 304, { what: `the new worker at version ${next}` });
    expect(await status('/v1/authorize', { ...gw, 'x-tollkeeper-tenant': 't-gone' })).toBe(200);
    expect((await metrics()).sum('tollkeeper_gateway_worker_restarts_total')).toBe(1);
  });
});
