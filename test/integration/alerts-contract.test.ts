import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { describe, expect, it } from 'vitest';
import { api, deliveries, enforce } from '../helpers/alerts-api.ts';
import { useAlertApps } from '../helpers/alert-apps.ts';
import { startApp } from '../helpers/app.ts';
import { createTracer } from '../helpers/otel.ts';
import { waitFor } from '../helpers/wait.ts';

// Alerts as an operator receives them from real decisions: usage sent through the OTel SDK, the detector's loop
// running, a Standard Webhooks receiver and an SMTP server on 127.0.0.1.

const SECRET = 'whsec_' + Buffer.from('contract secret of 32 bytes.....').toString('base64');
const apps = useAlertApps();

interface Hook {
  type: string;
  data: Record<string, any>;
}

describe('alerts as an operator receives them', () => {
  it('name the tenant of the entity, so webhooks show it and tenant email routes reach its admins', async () => {
    const hooks = await apps.hookReceiver(SECRET);
    const smtp = await apps.smtp();
    const t = apps.use(
      await startApp({
        yaml: `
detector: { interval: 200ms }
alerts:
  delivery: { max_attempts: 20, backoff: 50ms, max_backoff: 300ms }
  webhooks: [{ url: "${hooks.url}", secret: "${SECRET}" }]
  email: { smtp_url: "${smtp.url}", to: [ops@example.com], routes: [{ tenant: acme, to: [acme-admins@example.com] }] }
policies:
  - { name: daily-requests, scope: api_key, period: { calendar: day, timezone: UTC }, limits: { requests: 4 }, thresholds: [0.5, 1.0], action: revoke }
`,
      }),
    );
    const sdk = createTracer(t.otlpUrl, 'protobuf');
    for (let i = 0; i < 5; i++) sdk.chat({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5, 'tollkeeper.api_key.id': 'k-acme', 'tenant.id': 'acme' });
    await sdk.flush();
    await sdk.shutdown();

    await waitFor(() => ['quota.threshold', 'quota.exceeded', 'key.revoked'].every((type) => hooks.hooks.some((h) => (h.json as Hook).type === type)), { what: 'the threshold, exceeded and revoked webhooks' });
    for (const h of hooks.hooks) {
      expect(h.verified).toBe(true);
      expect((h.json as Hook).data, (h.json as Hook).type).toMatchObject({ entity: { kind: 'api_key', id: 'k-acme' }, tenant: 'acme', source: 'quota', policy: 'daily-requests' });
    }
    const mail = await waitFor(() => smtp.mails.find((m) => m.parsed.subject?.startsWith('[tollkeeper] Revoked: api_key k-acme')), { what: 'the revocation mail' });
    expect(mail.rcpt.sort()).toEqual(['acme-admins@example.com', 'ops@example.com']);
    expect(mail.parsed.text).toMatch(/^Tenant: +acme$/m);
  });

  it("link the entity's page in the web UI on the API port, in the text and the HTML part", async () => {
    const smtp = await apps.smtp();
    const t = apps.use(await startApp({ startLoop: false, yaml: `alerts: { email: { smtp_url: "${smtp.url}", to: [ops@example.com] } }` }));
    await enforce(t, 'revoke', 'api_key', 'k/42 ü&x');
    const mail = (await waitFor(() => smtp.mails[0], { what: 'the mail' })).parsed;
    const link = /^Entity page: +(\S+)$/m.exec(mail.text ?? '')?.[1];
    expect(link).toBe(`${t.apiUrl}/#/entity/api_key/${encodeURIComponent('k/42 ü&x')}`);
    expect(String(mail.html)).toContain(`<a href="${link!}"`);
    // The page behind it is the web UI, served on the API port without a token (its data needs the admin token).
    const page = await fetch(link!);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/ui/app.js');
  });

  it('never counts a mail as delivered to a recipient the SMTP server refused: retries a deferred one, names a refused one', async () => {
    const got: { rcpt: string[]; subject: string }[] = [];
    let deferrals = 0;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo(addr, _session, cb) {
        const refuse = (code: number, text: string) => cb(Object.assign(new Error(text), { responseCode: code }));
        if (addr.address === 'gone@example.com') return refuse(550, 'no such mailbox');
        if (addr.address === 'full@example.com' && deferrals++ < 2) return refuse(452, 'mailbox full, try later');
        cb();
      },
      onData(stream, session, cb) {
        simpleParser(stream)
          .then((p) => got.push({ rcpt: session.envelope.rcptTo.map((r) => r.address), subject: p.subject ?? '' }))
          .then(() => cb(), cb);
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    apps.cleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.server.address() as AddressInfo).port;
    const t = apps.use(
      await startApp({
        startLoop: false,
        yaml: `alerts: { delivery: { max_attempts: 10, backoff: 50ms, max_backoff: 200ms }, email: { smtp_url: "smtp://127.0.0.1:${port}", to: [ops@example.com, gone@example.com, full@example.com] } }`,
      }),
    );
    await enforce(t, 'revoke', 'api_key', 'k-mail');
    const done = await waitFor(async () => (await deliveries(t, 'channel=email&status=delivered'))[0], { what: 'the delivered mail' });
    expect(got.map((m) => m.rcpt)).toEqual([['ops@example.com'], ['full@example.com']]);
    expect(got.every((m) => m.subject === got[0]!.subject)).toBe(true);
    expect(done).toMatchObject({ attempts: 3, target: 'full@example.com, gone@example.com, ops@example.com' });
    expect(done.last_error).toMatch(/^not accepted for gone@example\.com \(550 no such mailbox\)/);
  });

  it('say the rate a throttle allows, in the webhook and in the mail, whoever throttled', async () => {
    const hooks = await apps.hookReceiver(SECRET);
    const smtp = await apps.smtp();
    const t = apps.use(
      await startApp({
        yaml: `
detector: { interval: 200ms }
alerts:
  webhooks: [{ url: "${hooks.url}", secret: "${SECRET}", events: [key.throttled] }]
  email: { smtp_url: "${smtp.url}", to: [ops@example.com] }
policies:
  - { name: slow-down, scope: api_key, period: { calendar: day, timezone: UTC }, limits: { requests: 2 }, thresholds: [1.0], action: { throttle: { requests_per_minute: 3 } } }
`,
      }),
    );
    const sdk = createTracer(t.otlpUrl, 'json');
    for (let i = 0; i < 3; i++) sdk.chat({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5, 'tollkeeper.api_key.id': 'k-fast' });
    await sdk.flush();
    await sdk.shutdown();
    expect((await api(t, 'POST', '/v1/enforcement', { action: 'throttle', kind: 'user', id: 'u-7', reason: 'scraping', limit: { tokens_per_minute: 1000 } })).status).toBe(200);

    await waitFor(() => hooks.hooks.length === 2 && smtp.mails.length === 2, { what: 'two throttle webhooks and mails' });
    const limits = Object.fromEntries(hooks.hooks.map((h) => [(h.json as Hook).data.entity.id, (h.json as Hook).data.limit]));
    expect(limits).toEqual({ 'k-fast': { requests_per_minute: 3 }, 'u-7': { tokens_per_minute: 1000 } });
    const action = (id: string) => smtp.mails.find((m) => m.parsed.subject?.includes(id))?.parsed.text?.match(/^Action taken: +(.+)$/m)?.[1];
    expect(action('k-fast')).toBe('Throttled to 3 requests per minute');
    expect(action('u-7')).toBe('Throttled to 1000 tokens per minute');
  });

  it('announce key.restored when an entry leaves the list by itself (its ttl passed), not only on a manual restore', async () => {
    const hooks = await apps.hookReceiver(SECRET);
    const t = apps.use(
      await startApp({
        yaml: `
detector: { interval: 200ms }
alerts: { webhooks: [{ url: "${hooks.url}", secret: "${SECRET}", events: [key.revoked, key.restored] }] }
`,
      }),
    );
    const revoked = await api(t, 'POST', '/v1/enforcement', { action: 'revoke', kind: 'api_key', id: 'k-ttl', reason: 'cooling off', ttl: '1s' });
    expect(revoked.status).toBe(200);
    const restored = await waitFor(() => hooks.hooks.find((h) => (h.json as Hook).type === 'key.restored'), { what: 'the key.restored webhook' });
    expect(restored.verified).toBe(true);
    expect((restored.json as Hook).data).toMatchObject({ entity: { kind: 'api_key', id: 'k-ttl' }, source: 'manual', action: 'restore', reason: 'expired: cooling off' });
    const list = await api(t, 'GET', '/v1/revocations');
    expect(list.body.entries).toEqual([]);
    expect(hooks.hooks.map((h) => (h.json as Hook).type)).toEqual(['key.revoked', 'key.restored']);
  });

  it('say in shadow mode that a quota action was not taken', async () => {
    const hooks = await apps.hookReceiver(SECRET);
    const smtp = await apps.smtp();
    const t = apps.use(
      await startApp({
        yaml: `
detector: { interval: 200ms, shadow: true }
alerts:
  webhooks: [{ url: "${hooks.url}", secret: "${SECRET}" }]
  email: { smtp_url: "${smtp.url}", to: [ops@example.com] }
policies:
  - { name: trial, scope: api_key, period: { calendar: day, timezone: UTC }, limits: { requests: 1 }, thresholds: [1.0], action: revoke }
`,
      }),
    );
    const sdk = createTracer(t.otlpUrl, 'protobuf');
    for (let i = 0; i < 2; i++) sdk.chat({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5, 'tollkeeper.api_key.id': 'k-shadow' });
    await sdk.flush();
    await sdk.shutdown();
    const exceeded = await waitFor(() => hooks.hooks.find((h) => (h.json as Hook).type === 'quota.exceeded'), { what: 'the quota.exceeded webhook' });
    expect((exceeded.json as Hook).data.action).toBe('shadow:revoke');
    const mail = await waitFor(() => smtp.mails[0], { what: 'the mail' });
    expect(mail.parsed.text).toMatch(/^Action taken: +Nothing \(shadow mode\): the policy would revoke$/m);
    expect((await api(t, 'GET', '/v1/revocations')).body.entries).toEqual([]);
    expect(hooks.hooks.map((h) => (h.json as Hook).type)).toEqual(['quota.exceeded']);
  });
});

