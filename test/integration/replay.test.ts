import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { serverUrl, startApp } from '../helpers/app.ts';
import { usageEvent } from '../helpers/events.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const HOUR = 3_600_000;

describe('tollkeeper replay', () => {
  it('prints what quotas and detection would have fired over stored usage, without acting', async () => {
    const t = await startApp({ startLoop: false });
    const day = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 2 * 86_400_000;
    const events = [];
    // Eight days of steady traffic for six keys, then k-x bursts at 12:00 two days ago.
    for (const key of ['k-1', 'k-2', 'k-3', 'k-4', 'k-5', 'k-x']) {
      for (let h = -6 * 24; h < 24; h++) events.push(usageEvent({ apiKey: key, costUsd: 0.4, requests: 8, inputTokens: 8000, time: day + h * HOUR + 600_000 }));
    }
    for (let m = 0; m < 10; m++) events.push(usageEvent({ apiKey: 'k-x', costUsd: 6, requests: 30, inputTokens: 500_000, time: day + 12 * HOUR + m * 60_000 + 5_000 }));
    await createUsageRepo(t.app.store).insert(events);
    await t.close();
    const config = join(t.dataDir, 'policy.yaml');
    const store = serverUrl ? `store: { clickhouse: { url: "${serverUrl}", database: ${t.database} } }\n` : '';
    writeFileSync(config, store + 'policies:\n  - { name: daily-10, scope: api_key, period: { calendar: day }, limits: { cost_usd: 20 }, action: revoke }\n');
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'bin/tollkeeper.ts'), 'replay', '--config', config, '--data', t.dataDir, '--from', new Date(day + 11 * HOUR).toISOString(), '--to', new Date(day + 13 * HOUR).toISOString(), '--step', '1m'], { env: { ...process.env, TOLLKEEPER_CLICKHOUSE_URL: '' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    expect(out.stderr).toContain('replaying tick');
    expect(out.code).toBe(0);
    const lines = out.stdout.split('\n');
    expect(lines[0]).toMatch(/^time \(UTC\)\s+source\s+policy\/pattern\s+entity/);
    // The quota: k-x passes $20 of the day during the burst (the 100 % row acts: revoke).
    expect(lines.some((l) => /quota\s+daily-10\s+api_key k-x\s+100%\s+revoke/.test(l))).toBe(true);
    expect(lines.some((l) => /quota\s+daily-10\s+api_key k-1\b/.test(l))).toBe(false);
    // Detection: the burst on k-x shows as a critical anomaly between 12:00 and 12:10.
    const anomaly = lines.find((l) => /anomaly\s+\S+\s+api_key k-x\s+critical/.test(l));
    expect(anomaly).toBeDefined();
    const at = Date.parse(anomaly!.slice(0, 19).replace(' ', 'T') + 'Z');
    expect(at).toBeGreaterThanOrEqual(day + 12 * HOUR);
    expect(at).toBeLessThanOrEqual(day + 12 * HOUR + 10 * 60_000);
    expect(out.stdout).toMatch(/findings between .* \(nothing was acted on\)/);
    // Nothing was acted on: the revocation list is still empty.
    const again = await startApp({ dataDir: t.dataDir, database: t.database, startLoop: false });
    expect(again.app.enforcement!.snapshot().entries).toEqual([]);
    await again.close({ cleanup: true });
  });
});
