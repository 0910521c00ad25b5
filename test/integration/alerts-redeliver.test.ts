import { describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { appPerTest } from '../helpers/app-per-test.ts';
import { startHookReceiver } from '../helpers/alert-receivers.ts';
import { api, deliveries, enforce } from '../helpers/alerts-api.ts';
import { waitFor } from '../helpers/wait.ts';

// Redelivering what cannot or need not be sent: a subscriber disabled by a 410, a delivered one, an unknown id.

const SECRET = 'whsec_' + Buffer.from('a test secret of 32 bytes.......').toString('base64');

const slot = appPerTest();
let t: TestApp | undefined;

describe('POST /api/alerts/deliveries/:id/redeliver', () => {
  it('refuses a delivery to a disabled subscriber with a 409 naming it, and sends it once the subscriber is enabled', async () => {
    const r = await startHookReceiver(SECRET);
    slot.cleanups.push(() => r.stop());
    r.setBehaviour((_req, res) => {
      res.writeHead(410).end('gone');
      return true;
    });
    t = slot.app = await startApp({
      startLoop: false,
      yaml: `detector: { interval: 1h }\nalerts:\n  delivery: { max_attempts: 30, backoff: 50ms, max_backoff: 300ms }\n  webhooks:\n    - { name: old, url: "${r.url}", secret: "${SECRET}" }\n`,
    });
    await enforce(t, 'revoke', 'api_key', 'k-gone');
    const dead = await waitFor(async () => (await deliveries(t!, 'status=dead'))[0], { what: 'a dead delivery' });

    const refused = await api(t, 'POST', `/api/alerts/deliveries/${dead.id}/redeliver`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: 'conflict', message: expect.stringContaining('webhook subscriber old, which is disabled (answered 410 Gone)') as unknown });
    expect(refused.body.message).toContain('POST /api/alerts/subscribers/old/enable');
    expect((await deliveries(t, 'status=dead')).map((d) => d.id)).toEqual([dead.id]);

    r.setBehaviour(undefined);
    expect((await api(t, 'POST', '/api/alerts/subscribers/old/enable')).status).toBe(200);
    const again = await api(t, 'POST', `/api/alerts/deliveries/${dead.id}/redeliver`);
    expect(again.status).toBe(202);
    await waitFor(async () => (await deliveries(t!, 'status=delivered')).length === 1, { what: 'the redelivered webhook delivered' });
    expect(r.hooks.map((h) => h.verified)).toEqual([true]);
    expect(r.hooks[0]!.id).toBe(dead.id);

    // A delivered one may be sent again on request (same webhook-id, so receivers can drop it); an unknown id is a 404.
    expect((await api(t, 'POST', `/api/alerts/deliveries/${dead.id}/redeliver`)).status).toBe(202);
    await waitFor(() => r.hooks.length === 2, { what: 'the second send' });
    expect(r.hooks[1]!.id).toBe(r.hooks[0]!.id);
    expect((await api(t, 'POST', '/api/alerts/deliveries/nope/redeliver')).status).toBe(404);
  });
});
