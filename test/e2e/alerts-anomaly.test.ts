import { afterEach, describe, expect, it } from 'vitest';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { startHookReceiver, startSmtp } from '../helpers/alert-receivers.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { usageEvent } from '../helpers/events.ts';
import { createTracer } from '../helpers/otel.ts';
import { waitFor } from '../helpers/wait.ts';

const HOUR = 3_600_000;
const SECRET = 'whsec_' + Buffer.from('end to end secret for anomalies!').toString('base64');

let t: TestApp | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await t?.close({ cleanup: true });
  t = undefined;
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Hook {
  type: string;
  data: Record<string, any>;
}

describe('alerts end to end', () => {
  it('a spend burst sent through the OTel SDK reaches the webhook receiver and the mailbox as anomaly and revocation', async () => {
    const hooks = await startHookReceiver(SECRET);
    const smtp = await startSmtp();
    cleanups.push(() => hooks.stop(), () => smtp.stop());
    t = await startApp({
      yaml: `
detector: { interval: 250ms }
anomaly: { actions: { warning: alert, critical: revoke } }
alerts:
  webhooks: [{ url: "${hooks.url}", secret: "${SECRET}", events: [anomaly.detected, key.revoked] }]
  email: { smtp_url: "${smtp.url}", to: [ops@example.com], routes: [{ tenant: acme, to: [acme@example.com] }] }
`,
    });
    // A week of ordinary traffic for a few keys (about $0.60 an hour each), so the leaked key has peers.
    const now = Date.now();
    const history = [];
    for (const key of ['k-1', 'k-2', 'k-3', 'k-4']) {
      for (let h = 7 * 24; h >= 1; h--) history.push(usageEvent({ apiKey: key, tenant: 'acme', costUsd: 0.6, inputTokens: 12_000, outputTokens: 2000, requests: 20, time: now - h * HOUR }));
    }
    await createUsageRepo(t.app.store).insert(history);
    const sdk = createTracer(t.otlpUrl, 'protobuf');
    for (let i = 0; i < 40; i++) {
      sdk.chat({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 100_000, 'gen_ai.usage.output_tokens': 50_000, 'tollkeeper.api_key.id': 'k-leaked', 'tenant.id': 'acme' });
    }
    await sdk.flush();

    const revoked = await waitFor(() => hooks.hooks.find((h) => (h.json as Hook).type === 'key.revoked'), { what: 'the key.revoked webhook', timeoutMs: 30_000 });
    const detected = hooks.hooks.find((h) => (h.json as Hook).type === 'anomaly.detected');
    expect(revoked.verified && detected?.verified).toBe(true);
    const data = (revoked.json as Hook).data;
    expect(data).toMatchObject({ entity: { kind: 'api_key', id: 'k-leaked' }, tenant: 'acme', source: 'anomaly', severity: 'critical', action: 'revoke', metric: expect.any(String) });
    expect(data.observed).toBeGreaterThan(data.expected);
    expect((detected!.json as Hook).data.incident_id).toBe(data.incident_id);

    const mail = await waitFor(() => smtp.mails.find((m) => m.parsed.subject?.includes('k-leaked')), { what: 'the mail', timeoutMs: 30_000 });
    if (process.env.TOLLKEEPER_TEST_SHOW_ALERTS) console.log(`--- mail as received ---\nSubject: ${mail.parsed.subject}\n\n${mail.parsed.text}`);
    expect(mail.parsed.subject).toMatch(/^\[tollkeeper\] Revoked: api_key k-leaked — .+/);
    expect(mail.rcpt.sort()).toEqual(['acme@example.com', 'ops@example.com']);
    expect(mail.parsed.text).toContain(`"id":"k-leaked"`);
    expect(mail.parsed.attachments.some((a) => a.contentType === 'image/png')).toBe(true);
    // The ordinary keys raised nothing.
    expect(hooks.hooks.every((h) => (h.json as Hook).data.entity.id === 'k-leaked')).toBe(true);
  });
});
