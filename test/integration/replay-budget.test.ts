// A replay over the API that would run past the listener's silent-socket timeout used to get no answer at all (the
// socket was closed under it) while it went on holding the one-replay-at-a-time slot. It is now stopped in time and
// answered with a code saying what to change, and the slot is free again at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { usageEvent } from '../helpers/events.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 11, 3, 10, 30);

let t: TestApp;

async function replay(body: unknown): Promise<{ status: number; body: { error?: string; message?: string; ticks?: number } }> {
  const res = await fetch(`${t.apiUrl}/api/replay`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { error?: string; message?: string } };
}

beforeAll(async () => {
  // A replay has 1 s to answer here.
  t = await startApp({ startLoop: false, now: () => NOW, yaml: 'server:\n  timeouts:\n    replay: 1s\n' });
  const events = [];
  for (let h = 1; h <= 7 * 24; h++) for (const key of ['k-a', 'k-b', 'k-c']) events.push(usageEvent({ apiKey: key, tenant: 'acme', costUsd: 0.1, inputTokens: 100, time: NOW - h * HOUR }));
  await createUsageRepo(t.app.store).insert(events);
});
afterAll(async () => {
  await t?.close({ cleanup: true });
});

describe('POST /api/replay against the clock', () => {
  it('stops a replay that would outlast the connection and answers 422 replay_too_long, then takes the next one', async () => {
    const long = await replay({ from: new Date(NOW - 6 * DAY).toISOString(), to: new Date(NOW).toISOString(), step: '5m', anomaly: true });
    expect(long.status, JSON.stringify(long.body)).toBe(422);
    expect(long.body.error).toBe('replay_too_long');
    expect(long.body.message).toMatch(/^replay stopped after 1s, \d+ of 1729 ticks done \(up to 2026-11-\d\dT[\d:.]+Z\); use a larger step, a shorter range, or the CLI \(tollkeeper replay\)/);

    const short = await replay({ from: new Date(NOW - 2 * HOUR).toISOString(), to: new Date(NOW).toISOString(), step: '1h' });
    expect(short.status, JSON.stringify(short.body)).toBe(200);
    expect(short.body.ticks).toBe(3);
  });
});
