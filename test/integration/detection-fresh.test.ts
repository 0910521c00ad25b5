import { afterEach, describe, expect, it } from 'vitest';
import { resolveAnomalyConfig } from '../../core/anomaly/config.ts';
import { createDetection } from '../../detector/detection.ts';
import { createAnomalyRepo } from '../../store/anomaly-repo.ts';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { usageEvent } from '../helpers/events.ts';
import { attackSpans, keyHistory as history } from '../helpers/key-attack.ts';
import { chatSpan, exportJson } from '../helpers/otlp-bodies.ts';
import { waitFor } from '../helpers/wait.ts';

const SEC = 1000;
const MIN = 60 * SEC;
// The detector ticks only when told (interval 1h): each tick below is one the test asks for.
const YAML = `
detector: { interval: 1h }
anomaly:
  scopes: [api_key]
  actions: { warning: alert, critical: revoke }
`;

let apps: TestApp[] = [];
afterEach(async () => {
  for (const a of apps.reverse()) await a.close({ cleanup: true });
  apps = [];
});

describe('the fresh path: usage is judged seconds after it is stored, not when its minute closes', () => {
  it('a burst stored 3–17 s into a minute is a critical incident at the tick 20 s in; a restart rebuilds the counters from the store', async () => {
    const minute = Math.floor(Date.now() / MIN) * MIN - 5 * MIN;
    let now = minute + 2 * SEC;
    const a = await startApp({ yaml: YAML, startLoop: false, now: () => now });
    apps.push(a);
    await createUsageRepo(a.app.store).insert(history(now));
    await a.app.loop!.tickNow(); // baselines built; nothing unusual yet
    expect(await createAnomalyRepo(a.app.store).listIncidents({ limit: 10 })).toEqual([]);

    const res = await fetch(`${a.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: attackSpans(minute) });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    now = minute + 20 * SEC;
    await a.app.loop!.tickNow();
    const [inc] = await createAnomalyRepo(a.app.store).listIncidents({ limit: 10 });
    expect(inc).toMatchObject({ kind: 'api_key', entityId: 'k-1', pattern: 'burst', severity: 'critical', action: 'revoke' });
    expect(inc!.startedAt).toBe(minute);
    expect(inc!.explanation).toMatch(/from onset to enforcement/);
    // The minute path alone, on the same store at the same instant, does not see it yet: the fresh path did.
    const minuteOnly = createDetection({ repo: createAnomalyRepo(a.app.store), config: resolveAnomalyConfig({ scopes: ['api_key'] }), quietMs: 2 * MIN });
    expect((await minuteOnly.step([], now)).findings).toBe(0);

    // Restart: the counters come back from the stored events, so the next tick still sees the run.
    await a.app.close();
    apps = [];
    now = minute + 22 * SEC;
    const b = await startApp({ yaml: YAML, startLoop: false, now: () => now, dataDir: a.dataDir, database: a.database });
    apps.push(b);
    await b.app.loop!.tickNow();
    const [again] = await createAnomalyRepo(b.app.store).listIncidents({ status: 'open', limit: 10 });
    expect(again).toMatchObject({ id: inc!.id, severity: 'critical', updatedAt: now });
  }, 120_000);

  it('a detector running apart from the collector reads what was stored since its last tick', async () => {
    const minute = Math.floor(Date.now() / MIN) * MIN - 5 * MIN;
    let now = minute + 2 * SEC;
    const d = await startApp({ yaml: YAML, startLoop: false, now: () => now, role: 'detector' });
    apps.push(d);
    const usage = createUsageRepo(d.app.store);
    await usage.insert(history(now));
    await d.app.loop!.tickNow();
    // Another process's collector stores the burst; this detector only reads the store.
    await usage.insert(Array.from({ length: 8 }, (_, i) => usageEvent({ apiKey: 'k-1', tenant: 'acme', requests: 1, costUsd: 0.1, inputTokens: 1000, time: minute + 3 * SEC + i * 2 * SEC })));
    now = minute + 20 * SEC;
    // Rows just stored may still be committing: they are read once they have settled (about 2 s of wall clock).
    const inc = await waitFor(async () => {
      await d.app.loop!.tickNow();
      return (await createAnomalyRepo(d.app.store).listIncidents({ limit: 10 }))[0];
    }, { timeoutMs: 30_000, intervalMs: 500, what: 'an incident from polled usage' });
    expect(inc).toMatchObject({ entityId: 'k-1', pattern: 'burst', severity: 'critical' });
  }, 120_000);

  it('a new key whose host clock runs two minutes ahead is judged on its first calls, not once the clock catches up', async () => {
    // The collector accepts spans stamped up to 5 minutes ahead (a host with a fast clock). Their usage counts now:
    // live, such a leaked key at 1 call/s went unflagged for 98 s because its minutes had not come yet.
    const minute = Math.floor(Date.now() / MIN) * MIN - 5 * MIN;
    let now = minute + 2 * SEC;
    const a = await startApp({ yaml: YAML, startLoop: false, now: () => now });
    apps.push(a);
    await createUsageRepo(a.app.store).insert(history(now));
    await a.app.loop!.tickNow();
    const ahead = Array.from({ length: 12 }, (_, i) =>
      Object.assign(chatSpan({ 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 25_000, 'gen_ai.usage.output_tokens': 600, 'tollkeeper.api_key.id': 'k-ahead', 'tenant.id': 'acme' }), { endMs: minute + 2 * MIN + 3 * SEC + i * SEC }),
    );
    const res = await fetch(`${a.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: exportJson(ahead) });
    expect(await res.json()).toEqual({});
    now = minute + 16 * SEC;
    await a.app.loop!.tickNow();
    const incidents = await createAnomalyRepo(a.app.store).listIncidents({ limit: 10 });
    expect(incidents.map((i) => ({ id: i.entityId, severity: i.severity }))).toEqual([{ id: 'k-ahead', severity: 'critical' }]);
    expect(incidents[0]!.spendUsd).toBeGreaterThan(0.5);
  }, 120_000);
});
