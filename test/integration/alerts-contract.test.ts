import { describe, expect, it } from 'vitest';
import { enforce } from '../helpers/alerts-api.ts';
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

describe('alerts from real quota decisions', () => {
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
});
