import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_NAMES } from '../../core/config/env-names.ts';
import { loadConfig } from '../../core/config/load.ts';

const load = (env: Record<string, string>) => loadConfig({ source: '(defaults)', env, flags: {} });

describe('TOLLKEEPER_* environment variables', () => {
  it('warns about a variable tollkeeper does not read, with a did-you-mean for a typo', () => {
    const r = load({ TOLLKEEPER_ADMIN_TOKN: 'a'.repeat(20), TOLLKEEPER_API_PORT: '9000' });
    expect(r.ok).toBe(true);
    expect(r.ok && r.warnings).toEqual([
      'TOLLKEEPER_ADMIN_TOKN is set but tollkeeper does not read it (did you mean TOLLKEEPER_ADMIN_TOKEN?); the variables it reads are listed in docs/configuration.md',
      'TOLLKEEPER_API_PORT is set but tollkeeper does not read it; the variables it reads are listed in docs/configuration.md',
    ]);
  });

  it('says nothing about the variables it reads, nor about those of the examples and the test suite', () => {
    const env = Object.fromEntries(ENV_NAMES.map((n) => [n, n.endsWith('_TOKEN') ? 'a'.repeat(20) : 'x']));
    delete env.TOLLKEEPER_CONFIG;
    env.TOLLKEEPER_CLICKHOUSE_URL = 'http://127.0.0.1:8123';
    env.TOLLKEEPER_SMTP_URL = 'smtp://127.0.0.1:1025';
    env.TOLLKEEPER_LOG_LEVEL = 'info';
    const r = load({ ...env, TOLLKEEPER_URL: 'http://127.0.0.1:4320', TOLLKEEPER_TEST_CLICKHOUSE_URL: 'x', TOLLKEEPER_FUZZ_SEED: '1', TOLLKEEPER_FAULT_ROUNDS: '2', TOLLKEEPER_CHROMIUM: '/x', OTHER_TOOL: 'y' });
    // The one warning left is about the configuration itself: SMTP set with no recipient (alerts-config.test.ts).
    expect(r.ok ? (r.warnings ?? []) : r.errors).toEqual(['(defaults): alerts.email.to: email is on (alerts.email.smtp_url or TOLLKEEPER_SMTP_URL) but has no recipient, so no mail is sent: list addresses in alerts.email.to or in alerts.email.routes']);
  });

  it('every variable it reads is documented in docs/configuration.md and README.md', () => {
    for (const page of ['docs/configuration.md', 'README.md']) {
      const text = readFileSync(new URL(`../../${page}`, import.meta.url), 'utf8');
      expect(ENV_NAMES.filter((n) => !text.includes(`\`${n}\``)), page).toEqual([]);
    }
  });
});

describe('a duration written as a bare number', () => {
  it('says which form a duration takes, with the path and the value', () => {
    const r = loadConfig({ source: 'tk.yaml', fileText: 'server: { timeouts: { socket: 0 } }\ndetector: { interval: 2 }', env: {}, flags: {} });
    expect(r.ok ? [] : r.errors).toEqual([
      'tk.yaml: server.timeouts.socket: expected a duration such as 500ms, 5s, 15m, 24h, 7d or 1h30m (got 0)',
      'tk.yaml: detector.interval: expected a duration such as 500ms, 5s, 15m, 24h, 7d or 1h30m (got 2)',
    ]);
  });
});
