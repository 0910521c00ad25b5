// Secrets never printed: a configuration error names the path and what is wrong, but never the value of a token,
// a password, a webhook secret or credentials inside a URL; the logger redacts them wherever they sit in the config.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../app/logger.ts';
import { ensureTokens } from '../../app/tokens.ts';
import { loadConfig } from '../../core/config/load.ts';

function errorsOf(fileText: string, env: Record<string, string> = {}): string {
  const r = loadConfig({ source: 't.yaml', fileText, env, flags: {} });
  if (r.ok) throw new Error('expected the configuration to be refused');
  return r.errors.join('\n');
}

describe('configuration errors never print a secret', () => {
  it.each([
    ['admin token too short', 'auth: { admin_token: "S3cretAdm1n" }', 'S3cretAdm1n', 'auth.admin_token'],
    ['gateway token too short', 'auth: { gateway_token: "S3cretGatew" }', 'S3cretGatew', 'auth.gateway_token'],
    ['otlp token of the wrong type', 'auth: { otlp_token: [S3cretOtlpT0ken] }', 'S3cretOtlpT0ken', 'auth.otlp_token'],
    ['clickhouse password of the wrong type', 'store: { clickhouse: { url: "http://ch:8123", password: [Pa55w0rdCH] } }', 'Pa55w0rdCH', 'store.clickhouse.password'],
    ['clickhouse url with credentials that is no url', 'store: { clickhouse: { url: "http//admin:Pa55w0rdURL@ch" } }', 'Pa55w0rdURL', 'store.clickhouse.url'],
    ['SMTP url of the wrong type', 'alerts: { email: { smtp_url: [ "smtp://u:Pa55w0rdSMTP@mail" ] } }', 'Pa55w0rdSMTP', 'alerts.email.smtp_url'],
    ['webhook secret too short', 'alerts: { webhooks: [ { url: "https://hooks.example/x", secret: "Wh00k" } ] }', 'Wh00k', 'alerts.webhooks[0].secret'],
    ['hash key too short', 'identity: { hash_key: "HashK3y" }', 'HashK3y', 'identity.hash_key'],
  ])('%s', (_what, yaml, secret, path) => {
    const errors = errorsOf(yaml);
    expect(errors).toContain(path);
    expect(errors).not.toContain(secret);
  });

  it('a token from the environment that is too short is not printed either', () => {
    const errors = errorsOf('', { TOLLKEEPER_ADMIN_TOKEN: 'EnvS3cret' });
    expect(errors).toContain('auth.admin_token');
    expect(errors).not.toContain('EnvS3cret');
  });

  it('a damaged tokens.json is reported without quoting it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tk-tokens-'));
    try {
      writeFileSync(join(dir, 'tokens.json'), '{"admin_token": tka_D4mag3dS3cret}');
      expect(() => ensureTokens(dir, {})).toThrow(/tokens\.json is not valid JSON/);
      expect(() => ensureTokens(dir, {})).not.toThrow(/D4mag3dS3cret/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('still shows values that are no secret', () => {
    expect(errorsOf('detector: { interval: "fast" }')).toContain('"fast"');
  });
});

describe('the logger redacts secrets wherever they sit in the configuration', () => {
  it('tokens, passwords, webhook secrets, SMTP urls and hash keys', () => {
    let out = '';
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => ((out += chunk.toString()), done()) });
    const logger = createLogger('info', sink);
    const config = {
      auth: { admin_token: 'LogAdm1nT0ken' },
      store: { clickhouse: { url: 'http://ch:8123', username: 'default', password: 'LogPa55w0rd' } },
      identity: { hash_key: 'LogHashK3y' },
      alerts: { email: { smtp_url: 'smtp://u:LogSmtpPa55@mail' }, webhooks: [{ url: 'https://x', secret: 'LogWh00kS3cret' }] },
    };
    logger.info({ config }, 'starting');
    logger.info({ store: config.store, alerts: config.alerts, auth: config.auth }, 'parts');
    logger.info({ req: { headers: { authorization: 'Bearer LogBearer' } } }, 'request');
    for (const secret of ['LogAdm1nT0ken', 'LogPa55w0rd', 'LogHashK3y', 'LogSmtpPa55', 'LogWh00kS3cret', 'LogBearer']) expect(out).not.toContain(secret);
    expect(out).toContain('http://ch:8123');
  });
});
