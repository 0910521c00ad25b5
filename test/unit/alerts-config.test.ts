import { describe, expect, it } from 'vitest';
import { alertSettings, subscriberId } from '../../app/alerts-config.ts';
import { loadConfig } from '../../core/config/load.ts';

function load(yaml: string, env: Record<string, string> = {}) {
  return loadConfig({ source: 't.yaml', fileText: yaml, env, flags: {} });
}

describe('alerts configuration', () => {
  it('needs a secret for signed webhooks but not for Slack, and names unknown event types', () => {
    const r = load(`alerts:
  webhooks:
    - { url: "http://127.0.0.1:1/a" }
    - { url: "http://127.0.0.1:1/b", format: slack }
    - { url: "http://127.0.0.1:1/c", secret: "whsec_abcdefgh", events: [key.revokd] }`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.join('\n')).toContain('alerts.webhooks[0].secret: a standard webhook needs a secret');
    expect(r.errors.join('\n')).toContain('alerts.webhooks[2].events[0]');
    expect(r.errors.join('\n')).not.toContain('webhooks[1]');
  });

  it('turns email on with TOLLKEEPER_SMTP_URL and keeps routes, cooldown and retry settings', () => {
    const r = load(`alerts:
  email: { to: [ops@x], cooldown: 5m, routes: [{ severity: critical, to: [pager@x] }] }
  delivery: { max_attempts: 3, backoff: 2s, max_backoff: 1m }
  webhooks: [{ name: billing, url: "http://127.0.0.1:1/a", secret: "a raw secret" }, { url: "http://127.0.0.1:1/b", format: slack }]`, { TOLLKEEPER_SMTP_URL: 'smtp://mail:1025' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const s = alertSettings(r.config, () => 'http://api');
    expect(s.email).toMatchObject({ smtpUrl: 'smtp://mail:1025', to: ['ops@x'], cooldownMs: 300_000, routes: [{ severity: 'critical', to: ['pager@x'] }], chartHours: 6, timeoutMs: 10_000 });
    expect(s.retry).toEqual({ maxAttempts: 3, initialMs: 2000, maxMs: 60_000 });
    expect(s.webhooks.map((w) => [w.id, w.format])).toEqual([['billing', 'standard'], [subscriberId('http://127.0.0.1:1/b'), 'slack']]);
    expect(s.apiUrl()).toBe('http://api');
  });

  it('leaves email off without an SMTP server, and defaults everything without an alerts block', () => {
    const r = load('alerts: { email: { to: [ops@x] } }');
    expect(r.ok && alertSettings(r.config, () => '').email).toBeUndefined();
    const d = load('detector: { interval: 2s }');
    expect(d.ok && alertSettings(d.config, () => 'http://a')).toMatchObject({ webhooks: [], retry: { maxAttempts: 10, initialMs: 1000, maxMs: 300_000 } });
  });

  it('warns when email is on but has nobody to write to (every mail would be dropped unseen), and still starts', () => {
    const r = load('detector: { interval: 2s }', { TOLLKEEPER_SMTP_URL: 'smtp://mail:1025' });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.warnings).toContain('t.yaml: alerts.email.to: email is on (alerts.email.smtp_url or TOLLKEEPER_SMTP_URL) but has no recipient, so no mail is sent: list addresses in alerts.email.to or in alerts.email.routes');
    const routed = load('alerts: { email: { routes: [{ severity: critical, to: [pager@x] }] } }', { TOLLKEEPER_SMTP_URL: 'smtp://mail:1025' });
    expect(routed.ok && (routed.warnings ?? [])).toEqual([]);
    const off = load('alerts: { email: { to: [] } }');
    expect(off.ok && (off.warnings ?? [])).toEqual([]);
  });

  it('refuses a whsec_ secret that is not base64, naming the webhook but not the secret', () => {
    const r = load(`alerts:
  webhooks:
    - { url: "http://127.0.0.1:1/a", secret: "whsec_!!notbase64!!" }
    - { url: "http://127.0.0.1:1/b", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }
    - { url: "http://127.0.0.1:1/c", secret: "any raw secret!!" }`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual(['t.yaml: alerts.webhooks[0].secret: a secret starting with whsec_ is base64 after the prefix (Base64Coder: incorrect characters for decoding); any other string is used as raw key bytes']);
  });

  it('builds links in messages on the URL people reach the API at: alerts.public_url, else server.public_url, else the listener', () => {
    const base = (yaml: string) => {
      const r = load(yaml);
      if (!r.ok) throw new Error(r.errors.join('\n'));
      return alertSettings(r.config, () => 'http://127.0.0.1:8080').apiUrl();
    };
    expect(base('server: { public_url: "https://tk.example.com" }')).toBe('https://tk.example.com');
    expect(base('server: { public_url: "https://tk.example.com" }\nalerts: { public_url: "https://alerts.example.com" }')).toBe('https://alerts.example.com');
    expect(base('detector: { interval: 2s }')).toBe('http://127.0.0.1:8080');
  });

  it('refuses an empty events list, which would silently send nothing (leave it out for every event)', () => {
    const r = load(`alerts:
  webhooks: [{ url: "http://127.0.0.1:1/a", secret: "a raw secret", events: [] }]
  email: { smtp_url: "smtp://mail:25", to: [ops@x], routes: [{ to: [acme@x], events: [] }] }`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.some((e) => e.startsWith('t.yaml: alerts.webhooks[0].events:'))).toBe(true);
    expect(r.errors.some((e) => e.startsWith('t.yaml: alerts.email.routes[0].events:'))).toBe(true);
  });

  it('refuses two webhooks known by the same id (one would silently take the deliveries and secret of the other)', () => {
    const r = load(`alerts:
  webhooks:
    - { name: billing, url: "http://127.0.0.1:1/a", secret: "first secret" }
    - { name: billing, url: "http://127.0.0.1:1/b", secret: "second secret" }
    - { url: "http://127.0.0.1:1/c", secret: "third secret" }
    - { url: "http://127.0.0.1:1/c", secret: "fourth secret", format: standard }`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      't.yaml: alerts.webhooks[1].name: "billing" is the name of alerts.webhooks[0]; give each webhook its own',
      't.yaml: alerts.webhooks[3].url: the same URL as alerts.webhooks[2]; give one of them a name',
    ]);
  });
});

