import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRevocationPoller, type RevocationPoller } from '../../client/index.ts';
import { buildGateway } from '../../examples/fastify-gateway.ts';
import { createProxy } from '../../examples/node-proxy.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { startFakeUpstream } from '../helpers/fake-upstream.ts';
import { waitFor } from '../helpers/wait.ts';

// The README's gateway examples are these files; this test runs them so they cannot rot.
describe('examples/: a node:http proxy and a fastify hook in front of an OpenAI-compatible upstream', () => {
  let t: TestApp;
  let upstream: Awaited<ReturnType<typeof startFakeUpstream>>;
  let poller: RevocationPoller;
  const urls: Record<string, string> = {};
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    t = await startApp({ startLoop: false });
    upstream = await startFakeUpstream();
    poller = createRevocationPoller({ url: t.apiUrl, token: t.gatewayToken, waitSeconds: 5 });
    await poller.ready();
    const proxy = createProxy({ poller, upstream: upstream.url });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    urls.proxy = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    closers.push(() => new Promise((r) => { proxy.closeAllConnections(); proxy.close(r); }));
    const gateway = buildGateway({ poller, upstream: upstream.url });
    urls.fastify = await gateway.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => gateway.close());
  });
  afterAll(async () => {
    for (const c of closers) await c();
    await poller.close();
    await upstream.close();
    await t.close({ cleanup: true });
  });

  const chat = (base: string, key: string) =>
    fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tollkeeper-api-key': key, authorization: 'Bearer sk-upstream' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] }),
    });

  async function enforce(body: unknown): Promise<number> {
    const res = await fetch(`${t.apiUrl}/v1/enforcement`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return ((await res.json()) as { version: number }).version;
  }

  for (const which of ['proxy', 'fastify'] as const) {
    it(`${which}: passes allowed calls, refuses a revoked key with 403 and its reason, lets it through after restore`, async () => {
      const key = `k-${which}`;
      const ok = await chat(urls[which]!, key);
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as any).choices[0].message.content).toBe('pong POST /v1/chat/completions');
      const hits = upstream.hits();
      const v = await enforce({ action: 'revoke', kind: 'api_key', id: key, reason: 'budget gone' });
      await waitFor(() => poller.version! >= v, { what: 'the revocation reaching the poller' });
      const refused = await chat(urls[which]!, key);
      expect(refused.status).toBe(403);
      expect(refused.headers.get('x-tollkeeper-reason')).toBe('deny: budget gone');
      expect(((await refused.json()) as any).error).toMatchObject({ type: 'tollkeeper', decision: 'deny', entity: { kind: 'api_key', id: key } });
      expect(upstream.hits()).toBe(hits);
      const r = await enforce({ action: 'restore', kind: 'api_key', id: key });
      await waitFor(() => poller.version! >= r, { what: 'the restore reaching the poller' });
      expect((await chat(urls[which]!, key)).status).toBe(200);
    });
  }
});
