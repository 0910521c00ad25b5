import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../core/alerts/types.ts';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { startSmtp } from '../helpers/alert-receivers.ts';
import { api, deliveries, enforce } from '../helpers/alerts-api.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { usageEvent } from '../helpers/events.ts';
import { waitFor } from '../helpers/wait.ts';

const DELIVERY = 'delivery: { max_attempts: 40, backoff: 50ms, max_backoff: 300ms }';

const yaml = (smtpUrl: string, extra = '') => `
detector: { interval: 1h }
alerts:
  ${DELIVERY}
  email:
    smtp_url: ${smtpUrl}
    from: tollkeeper@example.com
    to: [ops@example.com]
    cooldown: 15m
    routes:
      - { tenant: acme, to: [acme-admins@example.com] }
      - { severity: critical, to: [pager@example.com] }
${extra}`;

let t: TestApp | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await t?.close({ cleanup: true });
  t = undefined;
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function smtp() {
  const s = await startSmtp();
  cleanups.push(() => s.stop());
  return s;
}

const anomalyRevocation = (id: string, at: string): AlertEvent[] => {
  const data = { entity: { kind: 'api_key', id }, tenant: 'acme', source: 'anomaly' as const, incident_id: 'inc-7', pattern: 'burst', severity: 'critical', observed: 38.1, expected: 0.4, metric: 'cost_usd', reason: `api_key ${id} spent $38.10 in 5 min; its usual is $0.40 ± 0.12` };
  return [
    { type: 'anomaly.detected', timestamp: at, data: { ...data, action: 'revoke' } },
    { type: 'key.revoked', timestamp: at, data: { ...data, action: 'revoke' } },
  ];
};

describe('email alerts', () => {
  it('sends one mail per entity and tick with text, HTML, an inline PNG spend chart and the restore call', async () => {
    const s = await smtp();
    t = await startApp({ startLoop: false, yaml: yaml(s.url) });
    const now = Date.now();
    await createUsageRepo(t.app.store).insert([
      usageEvent({ apiKey: 'k-42', tenant: 'acme', costUsd: 0.4, time: now - 3 * 3_600_000 }),
      usageEvent({ apiKey: 'k-42', tenant: 'acme', costUsd: 38.1, time: now - 60_000 }),
    ]);
    void t.app.notifier!.onEvents(anomalyRevocation('k-42', new Date(now).toISOString()));
    const mail = (await waitFor(() => s.mails[0], { what: 'the mail' })).parsed;
    expect(mail.subject).toBe('[tollkeeper] Revoked: api_key k-42 — $38.10 in 5 min, 95× usual');
    expect(s.mails[0]!.rcpt.sort()).toEqual(['acme-admins@example.com', 'ops@example.com', 'pager@example.com']);
    const text = mail.text ?? '';
    for (const line of ['Entity:', 'api_key k-42', 'Tenant:', 'acme', 'Observed vs expected:', '$38.10 vs $0.40 (95× usual)', 'Incident:', 'inc-7 (burst, critical)', 'Action taken:', `curl -X POST '${t.apiUrl}/v1/enforcement'`]) {
      expect(text).toContain(line);
    }
    expect(mail.html).toContain('<img src="cid:spend-chart@tollkeeper"');
    const png = mail.attachments.find((a) => a.contentType === 'image/png');
    expect(png?.cid).toBe('spend-chart@tollkeeper');
    const img = PNG.sync.read(png!.content);
    expect([img.width, img.height]).toEqual([600, 160]);
    let red = 0;
    for (let i = 0; i < img.data.length; i += 4) if (img.data[i] === 214 && img.data[i + 1] === 69) red++;
    expect(red).toBeGreaterThan(0);
    expect(mail.messageId).toMatch(/^<msg_.+@tollkeeper>$/);
    if (process.env.TOLLKEEPER_TEST_SHOW_ALERTS) console.log(`--- mail as received ---\nSubject: ${mail.subject}\n\n${text}`);
    const listed = await waitFor(async () => (await deliveries(t!, 'channel=email&status=delivered'))[0], { what: 'the delivered mail in the outbox' });
    expect(listed).toMatchObject({ event_type: 'key.revoked', entities: [{ kind: 'api_key', id: 'k-42' }] });
  });

  it('escapes hostile entity ids in the HTML part and keeps headers on one line', async () => {
    const s = await smtp();
    t = await startApp({ startLoop: false, yaml: yaml(s.url) });
    const hostile = `<img src=x onerror=alert(1)>&"'\r\nBcc: victim@example.com`;
    await enforce(t, 'revoke', 'api_key', hostile, '<b>bold</b> reason');
    const mail = (await waitFor(() => s.mails[0], { what: 'the mail' })).parsed;
    expect(s.mails[0]!.rcpt.sort()).toEqual(['ops@example.com', 'pager@example.com']);
    expect(mail.subject).toBe(`[tollkeeper] Revoked: api_key <img src=x onerror=alert(1)>&"' Bcc: victim@example.com — <b>bold</b> reason`);
    expect(mail.headers.get('bcc')).toBeUndefined();
    const html = String(mail.html);
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b>bold');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;&#38;&#34;&#39;');
    // The restore call in the text part is the exact, shell-safe command for that id.
    expect(mail.text).toContain(`"id":"<img src=x onerror=alert(1)>&\\"'\\''\\r\\nBcc: victim@example.com"`);
  });

  it('turns a quota tick revoking many keys into one digest per recipient list', async () => {
    const s = await smtp();
    t = await startApp({
      startLoop: false,
      yaml: yaml(s.url, `policies:
  - { name: tiny, scope: api_key, period: { calendar: day, timezone: UTC }, limits: { requests: 1 }, thresholds: [1.0], action: revoke }`),
    });
    await createUsageRepo(t.app.store).insert(Array.from({ length: 60 }, (_, i) => usageEvent({ apiKey: `k-${String(i).padStart(3, '0')}`, requests: 2 })));
    await t.app.loop!.tickNow();
    const mail = (await waitFor(() => s.mails[0], { what: 'the digest' })).parsed;
    expect(mail.subject).toBe('[tollkeeper] Digest (60 events): 60 Revoked — api_key k-000, api_key k-001, api_key k-002 and 57 more');
    expect(s.mails[0]!.rcpt.sort()).toEqual(['ops@example.com', 'pager@example.com']);
    expect(mail.text).toContain('- Revoked: api_key k-059 — 2 of 1 requests (200%), policy tiny');
    // The entity of the first item is detailed: what happened, and the restore call.
    expect(mail.text).toMatch(/Used vs limit: +2 of 1 requests \(200% of the limit\)/);
    // A later single event is the next mail: the digest was the only one for the tick.
    await enforce(t, 'revoke', 'api_key', 'k-later');
    await waitFor(() => s.mails.length >= 2, { what: 'the next mail' });
    expect(s.mails).toHaveLength(2);
    expect(s.mails[1]!.parsed.subject).toContain('Revoked: api_key k-later');
  });

  it('makes 500 revocations published at once one mail, not 500', async () => {
    const s = await smtp();
    t = await startApp({ startLoop: false, yaml: yaml(s.url) });
    const at = new Date().toISOString();
    void t.app.notifier!.onEvents(Array.from({ length: 500 }, (_, i): AlertEvent => ({ type: 'key.revoked', timestamp: at, data: { entity: { kind: 'api_key', id: `b-${String(i).padStart(3, '0')}` }, source: 'quota', policy: 'p', action: 'revoke', reason: 'over budget' } })));
    await enforce(t, 'revoke', 'api_key', 'k-marker');
    await waitFor(() => s.mails.some((m) => m.parsed.subject?.includes('k-marker')), { what: 'the marker mail' });
    expect(s.mails.map((m) => m.parsed.subject)).toEqual([
      '[tollkeeper] Digest (500 events): 500 Revoked — api_key b-000, api_key b-001, api_key b-002 and 497 more',
      '[tollkeeper] Revoked: api_key k-marker — test',
    ]);
    expect(s.mails[0]!.parsed.text).toContain('… and 400 more');
  });

  it('cools down the same entity and What, still mails a different What, and sends one resolution mail', async () => {
    const s = await smtp();
    t = await startApp({ startLoop: false, yaml: yaml(s.url) });
    await enforce(t, 'revoke', 'api_key', 'k-c');
    await waitFor(() => s.mails.length === 1, { what: 'the revocation mail' });
    await enforce(t, 'restore', 'api_key', 'k-c');
    await waitFor(() => s.mails.length === 2, { what: 'the restore mail' });
    await enforce(t, 'revoke', 'api_key', 'k-c'); // same entity and What within the cooldown: no mail
    const resolved: AlertEvent = { type: 'anomaly.resolved', timestamp: new Date().toISOString(), data: { entity: { kind: 'api_key', id: 'k-r' }, source: 'anomaly', incident_id: 'inc-9', pattern: 'burst', severity: 'warning', reason: 'burst on api_key k-r is back to normal' } };
    void t.app.notifier!.onEvents([resolved]);
    void t.app.notifier!.onEvents([{ ...resolved, timestamp: new Date(Date.now() + 2000).toISOString() }]);
    await enforce(t, 'revoke', 'api_key', 'k-marker');
    await waitFor(() => s.mails.some((m) => m.parsed.subject?.includes('k-marker')), { what: 'the marker mail' });
    await waitFor(async () => (await deliveries(t!, 'channel=email&status=pending')).length === 0 && (await deliveries(t!, 'channel=email&status=failed')).length === 0, { what: 'an empty email queue' });
    expect(s.mails.map((m) => m.parsed.subject)).toEqual([
      '[tollkeeper] Revoked: api_key k-c — test',
      '[tollkeeper] Restored: api_key k-c — restored (manual): test',
      '[tollkeeper] Anomaly resolved: api_key k-r — burst back to normal',
      '[tollkeeper] Revoked: api_key k-marker — test',
    ]);
  });

  it('retries while the SMTP server is down and sends once it is back', async () => {
    const s = await smtp();
    await s.stop();
    t = await startApp({ startLoop: false, yaml: yaml(s.url) });
    await enforce(t, 'revoke', 'api_key', 'k-smtp');
    const failed = await waitFor(async () => (await deliveries(t!, 'channel=email&status=failed')).find((d) => d.attempts >= 2), { what: 'failed attempts' });
    expect(failed.last_error).toMatch(/ECONNECTION|ECONNREFUSED/);
    await s.start();
    await waitFor(async () => (await deliveries(t!, 'channel=email&status=delivered')).length === 1, { what: 'the mail after SMTP is back' });
    expect(s.mails).toHaveLength(1);
    expect(s.mails[0]!.parsed.messageId).toBe(`<${failed.id}@tollkeeper>`);
  });

  it('sends a mail left pending by a restart exactly once, and nothing again after the next restart', async () => {
    const s = await smtp();
    await s.stop();
    const y = yaml(s.url);
    t = await startApp({ startLoop: false, yaml: y });
    await enforce(t, 'revoke', 'api_key', 'k-r1');
    await waitFor(async () => (await deliveries(t!, 'channel=email&status=failed')).length === 1, { what: 'a failed mail' });
    const { dataDir, database } = t;
    await t.close();
    await s.start();
    t = await startApp({ startLoop: false, yaml: y, dataDir, database });
    await waitFor(() => s.mails.length === 1, { what: 'the mail after the restart' });
    await waitFor(async () => (await deliveries(t!, 'channel=email&status=delivered')).length === 1, { what: 'recorded as delivered' });
    await t.close();
    t = await startApp({ startLoop: false, yaml: y, dataDir, database });
    // Cooldown survives the restart too: the same revocation again is not mailed.
    await enforce(t, 'restore', 'api_key', 'k-r1');
    await enforce(t, 'revoke', 'api_key', 'k-r1');
    await enforce(t, 'revoke', 'api_key', 'k-r2');
    await waitFor(() => s.mails.some((m) => m.parsed.subject?.includes('k-r2')), { what: 'the next mail' });
    expect(s.mails.map((m) => m.parsed.subject)).toEqual([
      '[tollkeeper] Revoked: api_key k-r1 — test',
      '[tollkeeper] Restored: api_key k-r1 — restored (manual): test',
      '[tollkeeper] Revoked: api_key k-r2 — test',
    ]);
    expect((await api(t, 'GET', '/api/alerts/deliveries?channel=email')).body.deliveries).toHaveLength(3);
  });
});
