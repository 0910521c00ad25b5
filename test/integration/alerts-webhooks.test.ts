import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { startHookReceiver } from '../helpers/alert-receivers.ts';
import { api, deliveries, enforce } from '../helpers/alerts-api.ts';
import { waitFor } from '../helpers/wait.ts';

const SECRET = 'whsec_' + Buffer.from('a test secret of 32 bytes.......').toString('base64');
const DELIVERY = 'delivery: { max_attempts: 30, backoff: 50ms, max_backoff: 300ms }';

const yaml = (hooks: string) => `
detector: { interval: 1h }
alerts:
  ${DELIVERY}
  webhooks:
${hooks}
`;

let t: TestApp | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await t?.close({ cleanup: true });
  t = undefined;
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function receiver(secret: string | undefined) {
  const r = await startHookReceiver(secret);
  cleanups.push(() => r.stop());
  return r;
}

describe('outbound webhooks', () => {
  it('signs the documented payload per Standard Webhooks, filters events per subscriber, and lists the delivery', async () => {
    const all = await receiver(SECRET);
    const onlyRestores = await receiver('a raw secret, not base64');
    t = await startApp({
      startLoop: false,
      yaml: yaml(`    - { name: all, url: "${all.url}", secret: "${SECRET}" }
    - { name: restores, url: "${onlyRestores.url}", secret: "a raw secret, not base64", events: [key.restored] }`),
    });
    await enforce(t, 'revoke', 'api_key', 'k-42', 'leaked key');
    await enforce(t, 'restore', 'api_key', 'k-42', 'rotated');
    await waitFor(() => all.hooks.length === 2 && onlyRestores.hooks.length === 1, { timeoutMs: 10_000, what: 'three webhooks' });
    expect(all.hooks.every((h) => h.verified)).toBe(true);
    expect(onlyRestores.hooks[0]!.verified).toBe(true);
    expect(all.hooks.map((h) => (h.json as { type: string }).type)).toEqual(['key.revoked', 'key.restored']);
    const revoked = all.hooks[0]!.json as Record<string, any>;
    expect(revoked).toMatchObject({ type: 'key.revoked', data: { entity: { kind: 'api_key', id: 'k-42' }, source: 'manual', action: 'revoke', reason: 'leaked key' } });
    expect(Date.parse(revoked.timestamp as string)).not.toBeNaN();
    expect(all.hooks[0]!.id).toMatch(/^msg_/);

    const listed = await waitFor(async () => {
      const ds = await deliveries(t!, 'channel=webhook&status=delivered&entity=k-42');
      return ds.length === 3 ? ds : undefined;
    }, { what: 'three delivered deliveries' });
    expect(listed.map((d) => d.target).sort()).toEqual(['all', 'all', 'restores']);
    expect(listed.map((d) => d.id)).toContain(all.hooks[0]!.id);
    expect(await deliveries(t, 'entity=someone-else')).toEqual([]);
    expect((await api(t, 'GET', '/api/alerts/deliveries', undefined, t.gatewayToken)).status).toBe(403);
    expect((await api(t, 'GET', '/api/alerts/deliveries?status=lost')).status).toBe(400);
  });

  it('retries while the receiver is down and delivers exactly once when it is back, with the same webhook-id', async () => {
    const r = await receiver(SECRET);
    t = await startApp({ startLoop: false, yaml: yaml(`    - { url: "${r.url}", secret: "${SECRET}" }`) });
    await r.stop();
    await enforce(t, 'revoke', 'api_key', 'k-down');
    const failed = await waitFor(async () => (await deliveries(t!, 'status=failed')).find((d) => d.attempts >= 2), { what: 'a failed, retried delivery' });
    expect(failed.last_error).toBeTruthy();
    await r.start();
    await waitFor(async () => (await deliveries(t!, 'status=delivered')).length === 1, { what: 'the delivery once the receiver is back' });
    expect(r.hooks).toHaveLength(1);
    expect(r.hooks[0]!.id).toBe(failed.id);
    expect(r.hooks[0]!.verified).toBe(true);
    // Another event afterwards proves the first is not sent again (no timing assumption).
    await enforce(t, 'revoke', 'api_key', 'k-after');
    await waitFor(() => r.hooks.length === 2, { what: 'the second webhook' });
    expect(r.hooks.filter((h) => h.id === failed.id)).toHaveLength(1);
  });

  it('keeps undelivered webhooks across a restart: delivered exactly once afterwards, and not again after the next restart', async () => {
    const r = await receiver(SECRET);
    const y = yaml(`    - { url: "${r.url}", secret: "${SECRET}" }`);
    t = await startApp({ startLoop: false, yaml: y });
    await r.stop();
    await enforce(t, 'revoke', 'api_key', 'k-restart');
    await waitFor(async () => (await deliveries(t!, 'status=failed')).length === 1, { what: 'a failed delivery' });
    const { dataDir, database } = t;
    await t.close();
    t = undefined;

    await r.start();
    t = await startApp({ startLoop: false, yaml: y, dataDir, database });
    await waitFor(async () => (await deliveries(t!, 'status=delivered')).length === 1, { what: 'delivery after the restart' });
    expect(r.hooks).toHaveLength(1);
    await t.close();
    t = undefined;

    t = await startApp({ startLoop: false, yaml: y, dataDir, database });
    await enforce(t, 'revoke', 'api_key', 'k-next');
    await waitFor(() => r.hooks.length >= 2, { what: 'the next event' });
    expect(r.hooks.map((h) => (h.json as { data: { entity: { id: string } } }).data.entity.id)).toEqual(['k-restart', 'k-next']);
  });

  it('disables a subscriber that answers 410 Gone (also after a restart) until an operator enables it', async () => {
    const r = await receiver(SECRET);
    r.setBehaviour((_req, res) => {
      res.writeHead(410).end('gone');
      return true;
    });
    const y = yaml(`    - { name: old, url: "${r.url}", secret: "${SECRET}" }`);
    t = await startApp({ startLoop: false, yaml: y });
    await enforce(t, 'revoke', 'api_key', 'k-gone');
    const dead = await waitFor(async () => (await deliveries(t!, 'status=dead'))[0], { what: 'a dead delivery' });
    expect(dead).toMatchObject({ attempts: 1, last_error: 'HTTP 410: gone' });
    const subs = (await api(t, 'GET', '/api/alerts/subscribers')).body.subscribers as { id: string; disabled: boolean }[];
    expect(subs).toEqual([expect.objectContaining({ id: 'old', disabled: true })]);

    const { dataDir, database } = t;
    await t.close();
    t = await startApp({ startLoop: false, yaml: y, dataDir, database });
    r.setBehaviour(undefined);
    await enforce(t, 'revoke', 'api_key', 'k-ignored');
    expect((await api(t, 'GET', '/api/alerts/subscribers')).body.subscribers[0].disabled).toBe(true);
    expect(await deliveries(t, 'entity=k-ignored')).toEqual([]);

    expect((await api(t, 'POST', '/api/alerts/subscribers/old/enable')).status).toBe(200);
    await enforce(t, 'revoke', 'api_key', 'k-back');
    await waitFor(() => r.hooks.length === 1, { what: 'a webhook after re-enabling' });
    expect((r.hooks[0]!.json as { data: { entity: { id: string } } }).data.entity.id).toBe('k-back');
    expect((await api(t, 'POST', '/api/alerts/subscribers/nope/enable')).status).toBe(404);
  });

  it('gives up on a receiver that does not answer within the timeout, retries, and redelivers on request', async () => {
    const r = await receiver(SECRET);
    r.setBehaviour(() => true); // never answers
    t = await startApp({
      startLoop: false,
      yaml: `
detector: { interval: 1h }
alerts:
  delivery: { max_attempts: 2, backoff: 50ms, max_backoff: 100ms }
  webhooks: [{ url: "${r.url}", secret: "${SECRET}", timeout: 200ms }]
`,
    });
    await enforce(t, 'revoke', 'api_key', 'k-slow');
    const dead = await waitFor(async () => (await deliveries(t!, 'status=dead'))[0], { what: 'dead after two timeouts' });
    expect(dead).toMatchObject({ attempts: 2, last_error: 'no answer within 200 ms' });
    r.setBehaviour(undefined);
    const again = await api(t, 'POST', `/api/alerts/deliveries/${dead.id}/redeliver`);
    expect(again.status).toBe(202);
    await waitFor(async () => (await deliveries(t!, 'status=delivered')).length === 1, { what: 'redelivered' });
    expect(r.hooks.map((h) => h.id)).toEqual([dead.id]);
    expect((await api(t, 'POST', '/api/alerts/deliveries/msg_nope/redeliver')).status).toBe(404);
  });

  it('posts a readable Slack message: who, what, how much vs usual, what was done, how to restore', async () => {
    const slack = await receiver(undefined);
    t = await startApp({ startLoop: false, yaml: yaml(`    - { url: "${slack.url}", format: slack }`) });
    void t.app.notifier!.onEvents([
      {
        type: 'key.revoked',
        timestamp: '2026-12-03T08:00:00.000Z',
        data: { entity: { kind: 'api_key', id: 'k-42' }, tenant: 'acme', source: 'anomaly', incident_id: 'inc-7', pattern: 'burst', severity: 'critical', observed: 38.1, expected: 0.4, metric: 'cost_usd', action: 'revoke', reason: 'api_key k-42 spent $38.10 in 5 min; its usual is $0.40 ± 0.12' },
      },
    ]);
    await waitFor(() => slack.hooks.length === 1, { what: 'the Slack message' });
    const msg = slack.hooks[0]!.json as { text: string; blocks: unknown[] };
    expect(msg.text).toContain('*Revoked:* api_key `k-42` (tenant acme) — $38.10 in 5 min, 95× usual');
    expect(msg.text).toContain('*Observed:* $38.10 vs usual $0.40 (95×)');
    expect(msg.text).toContain(`curl -X POST '${t.apiUrl}/v1/enforcement'`);
    expect(msg.text).toContain(`{"action":"restore","kind":"api_key","id":"k-42"`);
    expect(msg.blocks.length).toBeGreaterThanOrEqual(3);
    if (process.env.TOLLKEEPER_TEST_SHOW_ALERTS) console.log(`--- Slack message as received ---\n${msg.text}`);
  });
});
