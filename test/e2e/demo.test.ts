import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { cli } from '../helpers/cli.ts';

/** Holds 127.0.0.1:<port> the way a `tollkeeper start` already running would (unless something else holds it). */
async function holdPort(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Runs `tollkeeper demo --fast <args>` as a user would (the real CLI in a child process) and collects its transcript. */
const demo = (args: string[]) => cli(['demo', '--fast', ...args], {}, undefined, 100_000);

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close({ cleanup: true });
  t = undefined;
});

describe('tollkeeper demo', () => {
  it('starts tollkeeper, leaks a key, and shows the detection, the revocation, the gateway answer and the alert, then ends by itself', async () => {
    const data = join(mkdtempSync(join(tmpdir(), 'tk-demo-data-')), 'data-demo');
    // A tollkeeper already running on the default ports (the gateway listener's 4320 among them) does not stop it.
    const held = await holdPort(4320);
    try {
      const r = await demo(['--data', data]);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const lines = r.stdout.split('\n');
      const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
      const attack = at(/^\[\s*[\d.]+s\] ATTACK\s+the key demo-summarizer leaked/);
      const detected = at(/^\[\s*[\d.]+s\] DETECTED\s+critical \w+ on api_key demo-summarizer → revoke: .*demo-summarizer/);
      const revoked = at(/^\[\s*[\d.]+s\] REVOKED\s+api_key demo-summarizer \(revoke, anomaly\) — revocation list version \d+/);
      const gateway = at(/^\[\s*[\d.]+s\] GATEWAY\s+forward-auth answers 403 for demo-summarizer and 200 for demo-support-bot/);
      const alert = at(/^\[\s*[\d.]+s\] ALERT\s+key\.revoked for api_key demo-summarizer delivered to the demo's webhook receiver \(signature verified/);
      expect([attack, detected, revoked, gateway, alert].every((i) => i >= 0), r.stdout).toBe(true);
      expect(detected).toBeGreaterThan(attack);
      expect(revoked).toBeGreaterThan(attack);
      expect(r.stdout).toMatch(/^\[\s*[\d.]+s\] spend\s+last 60 s \$\d/m);
      // No ordinary key was revoked.
      expect(lines.filter((l) => / REVOKED /.test(l) && !l.includes('demo-summarizer'))).toEqual([]);
      expect(r.stdout).toMatch(/^summary\n {2}fleet .*\n {2}attack .*\n {2}detected\s+[\d.]+ s after the attack\n {2}revoked\s+[\d.]+ s after the attack/m);
      // --data keeps what happened for a look in the web UI afterwards.
      expect(existsSync(join(data, 'tokens.json'))).toBe(true);
    } finally {
      held?.close();
      rmSync(join(data, '..'), { recursive: true, force: true });
    }
  }, 120_000);

  it('drives a running tollkeeper given --url and its tokens', async () => {
    t = await startApp({ yaml: 'detector: { interval: 500ms }\nanomaly: { actions: { warning: alert, critical: revoke } }\n' });
    const r = await demo(['--url', t.apiUrl, '--otlp-url', t.otlpUrl, '--admin-token', t.adminToken, '--gateway-token', t.gatewayToken]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`using the running instance at ${t.apiUrl}`);
    expect(r.stdout).toMatch(/REVOKED\s+api_key demo-summarizer/);
    expect(t.app.enforcement!.get('api_key', 'demo-summarizer')).toMatchObject({ action: 'revoke', source: 'anomaly' });
  }, 120_000);
});
