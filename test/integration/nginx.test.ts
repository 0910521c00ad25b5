import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, tempDataDir, type TestApp } from '../helpers/app.ts';
import { freePort, startFakeUpstream } from '../helpers/fake-upstream.ts';
import { findNginx, startNginx, type NginxPorts } from '../helpers/nginx.ts';

// A real NGINX (Debian's package; .ci/run installs it) running docs/gateways/nginx.conf in front of a fake
// OpenAI-compatible upstream, with auth_request to /v1/authorize on tollkeeper's gateway listener.
const nginx = findNginx();
if (!nginx && process.env.CI) throw new Error('nginx is not installed, and CI must run the NGINX test (.ci/run installs it)');
if (!nginx) console.warn('SKIPPED test/integration/nginx.test.ts: no nginx binary found (apt-get install -y nginx); CI runs it');

describe.skipIf(!nginx)('NGINX auth_request in front of an upstream', () => {
  let t: TestApp | undefined;
  let upstream: Awaited<ReturnType<typeof startFakeUpstream>>;
  let ports: NginxPorts;
  let gw: Awaited<ReturnType<typeof startNginx>> | undefined;
  const dataDir = tempDataDir();

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    const tkPort = await freePort();
    t = await startApp({ dataDir, gatewayPort: tkPort, yaml: 'gateway: { nginx_mode: true }' });
    ports = { listen: await freePort(), tollkeeper: tkPort, upstream: upstream.port, gatewayToken: t.gatewayToken, failMode: 'open' };
    gw = await startNginx(nginx!, ports);
  });
  afterAll(async () => {
    await gw?.stop();
    await t?.close({ cleanup: true });
    await upstream?.close();
  });

  const call = (headers: Record<string, string>) =>
    fetch(`${gw!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] }),
    });

  async function enforce(body: unknown): Promise<void> {
    const res = await fetch(`${t!.apiUrl}/v1/enforcement`, { method: 'POST', headers: { authorization: `Bearer ${t!.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
  }

  it('passes an allowed call through to the upstream, body and all', async () => {
    const res = await call({ 'x-tollkeeper-api-key': 'k-ok' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).choices[0].message.content).toBe('pong POST /v1/chat/completions');
  });

  it('refuses a revoked key with 403 and the reason header, and never reaches the upstream', async () => {
    await enforce({ action: 'revoke', kind: 'api_key', id: 'k-revoked', reason: 'budget exhausted' });
    const hits = upstream.hits();
    const res = await call({ 'x-tollkeeper-api-key': 'k-revoked' });
    await res.body?.cancel();
    expect(res.status).toBe(403);
    expect(res.headers.get('x-tollkeeper-reason')).toBe('deny: budget exhausted');
    expect(upstream.hits()).toBe(hits);
  });

  it('turns a throttle into 403 (nginx mode) with the reason and Retry-After', async () => {
    await enforce({ action: 'throttle', kind: 'tenant', id: 't-slow', reason: 'easy there', limit: { requests_per_minute: 1 } });
    const first = await call({ 'x-tollkeeper-tenant': 't-slow' });
    await first.body?.cancel();
    expect(first.status).toBe(200);
    const second = await call({ 'x-tollkeeper-tenant': 't-slow' });
    await second.body?.cancel();
    expect(second.status).toBe(403);
    expect(second.headers.get('x-tollkeeper-reason')).toBe('throttle: easy there');
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(30);
  });

  it('lets a restored key through again', async () => {
    await enforce({ action: 'restore', kind: 'api_key', id: 'k-revoked' });
    const res = await call({ 'x-tollkeeper-api-key': 'k-revoked' });
    await res.body?.cancel();
    expect(res.status).toBe(200);
  });

  it('with tollkeeper down: fail mode open lets calls through, closed answers 503', async () => {
    await t!.close();
    t = undefined;
    const open = await call({ 'x-tollkeeper-api-key': 'k-revoked-while-down' });
    expect(open.status).toBe(200);
    expect(((await open.json()) as any).object).toBe('chat.completion');
    await gw!.stop();
    gw = await startNginx(nginx!, { ...ports, failMode: 'closed' });
    const hits = upstream.hits();
    const closed = await call({ 'x-tollkeeper-api-key': 'k-ok' });
    await closed.body?.cancel();
    expect(closed.status).toBe(503);
    expect(upstream.hits()).toBe(hits);
  });
});
