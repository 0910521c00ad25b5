import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../app/logger.ts';
import { replayOn } from '../../app/replay.ts';
import { createAnomalyRepo } from '../../store/anomaly-repo.ts';
import { createEnforcementRepo, type LoggedChange } from '../../store/enforcement-repo.ts';
import { fromChTime } from '../../store/time.ts';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { api as adminApi } from '../helpers/admin-api.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { usageEvent } from '../helpers/events.ts';
import { chatSpan, exportJson } from '../helpers/otlp-bodies.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const TICKS = 30;
const KEYS = ['k-1', 'k-2', 'k-3', 'k-4', 'k-5', 'k-x'];

// A config policy, detection with a quiet period of 5 minutes (not the default 2) and anomaly revocations that
// expire; an API policy and an override are added through the API below.
const YAML = `
detector: { interval: 1h }
policies:
  - name: daily-cost
    scope: api_key
    period: { calendar: day, timezone: UTC }
    limits: { cost_usd: 100 }
    thresholds: [0.5, 0.8]
    action: revoke
anomaly:
  scopes: [api_key]
  actions: { warning: alert, critical: revoke }
  ttl: 10m
  quiet_period: 5m
`;

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close({ cleanup: true });
  t = undefined;
});

/** The status of an admin API call. */
async function api(app: TestApp, method: string, path: string, body: unknown): Promise<number> {
  return (await adminApi(app, method, path, body)).status;
}

/** One minute of traffic: each key one small call; k-x bursts in minutes 5 to 7. */
function minuteSpans(start: number, i: number): string {
  const spans = KEYS.map((key, k) =>
    Object.assign(chatSpan({ 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 3000, 'gen_ai.usage.output_tokens': 500, 'gen_ai.usage.cost': 0.01, 'tollkeeper.api_key.id': key, 'tenant.id': 'acme' }), { endMs: start + 1000 + k * 1000 }),
  );
  if (i >= 5 && i <= 7) {
    for (let j = 0; j < 20; j++) {
      spans.push(Object.assign(chatSpan({ 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 100_000, 'gen_ai.usage.output_tokens': 50_000, 'gen_ai.usage.cost': 2, 'tollkeeper.api_key.id': 'k-x', 'tenant.id': 'acme' }), { endMs: start + 10_000 + j * 2000 }));
    }
  }
  return exportJson(spans);
}

const firingView = (f: { policy: string; scope: string; entity: string; periodKey: string; threshold: number; firedAt: number }) => `${new Date(f.firedAt).toISOString()} ${f.policy} ${f.scope} ${f.entity} ${f.periodKey} ${f.threshold}`;
const incidentView = (i: { id: string; kind: string; entityId: string; pattern: string; severity: string; startedAt: number; updatedAt: number; resolvedAt: number | null; action: string; shadow: boolean }) =>
  ({ id: i.id, entity: `${i.kind} ${i.entityId}`, pattern: i.pattern, severity: i.severity, startedAt: i.startedAt, updatedAt: i.updatedAt, resolvedAt: i.resolvedAt, action: i.action, shadow: i.shadow });
const changeView = (c: LoggedChange) => ({ version: c.version, at: c.at, op: c.op, entity: `${c.kind} ${c.id}`, actor: c.actor, source: c.source, reason: c.reason, causes: c.entry?.causes ?? [] });

describe('replay is the live detector minus side effects', () => {
  it('gives the same threshold firings, incidents and revocation list changes as the live run on the same traffic (API policy, override, quiet period)', async () => {
    // Ticks at the end of each minute, so the minute a tick reads is complete in live and replay alike.
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - (TICKS + 10) * MINUTE;
    let now = base;
    t = await startApp({ yaml: YAML, startLoop: false, now: () => now });
    // A week of history at the pace of the live traffic below (one call a minute), so detection judges each key
    // against its own baseline and sees only the burst as unusual.
    const history = KEYS.flatMap((key) => Array.from({ length: 7 * 24 * 4 }, (_, q) => usageEvent({ apiKey: key, tenant: 'acme', costUsd: 0.15, inputTokens: 3000, outputTokens: 500, requests: 15, time: base - HOUR - q * 15 * MINUTE })));
    await createUsageRepo(t.app.store).insert(history);
    expect(await api(t, 'POST', '/api/policies', { name: 'tenant-rolling', scope: 'tenant', period: { rolling: '10m' }, limits: { tokens: 3_000_000 }, action: { throttle: { requests_per_minute: 5 } } })).toBe(201);
    expect(await api(t, 'PUT', '/api/policies/daily-cost/overrides/k-2', { limits: { cost_usd: 0.2 } })).toBe(200);

    // Live: each minute's traffic through the collector, then one detector tick.
    const ticks: number[] = [];
    for (let i = 0; i < TICKS; i++) {
      now = base + i * MINUTE + 59_000;
      ticks.push(now);
      const res = await fetch(`${t.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: minuteSpans(base + i * MINUTE, i) });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      await t.app.loop!.tickNow();
    }
    const store = t.app.store;
    const liveFirings = (await store.query<{ policy: string; scope: string; entity: string; period_key: string; threshold: number; fired_at: string }>(`SELECT policy, scope, entity, period_key, threshold, toString(fired_at) AS fired_at FROM ${store.table('quota_firings')}`)).map((r) =>
      firingView({ policy: r.policy, scope: r.scope, entity: r.entity, periodKey: r.period_key, threshold: Number(r.threshold), firedAt: fromChTime(r.fired_at) }),
    );
    const liveIncidents = (await createAnomalyRepo(store).listIncidents({ limit: 1000 })).map(incidentView);
    const liveChanges = (await createEnforcementRepo(store).loadAll()).map(changeView);

    // What live did covers all three: the override (k-2 at $0.20), the API policy (a throttle, lifted when the
    // burst leaves the rolling window) and an incident resolved 5 minutes after its last finding.
    expect(liveFirings.some((f) => f.includes(' daily-cost api_key k-2 ') && f.endsWith(' 1'))).toBe(true);
    expect(liveFirings.some((f) => f.includes(' tenant-rolling tenant acme '))).toBe(true);
    expect(liveChanges.some((c) => c.entity === 'tenant acme' && c.op === 'remove' && c.actor === 'policy:tenant-rolling')).toBe(true);
    expect(liveChanges.some((c) => c.source === 'anomaly' && c.entity === 'api_key k-x')).toBe(true);
    const resolved = liveIncidents.filter((i) => i.resolvedAt !== null);
    expect(resolved.length).toBeGreaterThan(0);
    for (const i of resolved) expect(i.resolvedAt! - i.updatedAt).toBeGreaterThanOrEqual(5 * MINUTE);

    // Replay over the same ticks, from the same store and config.
    const r = await replayOn(store, t.app.config, { from: ticks[0]!, to: ticks.at(-1)!, stepMs: MINUTE, logger: createLogger('silent'), now });
    expect(r.firings.map(firingView).sort()).toEqual(liveFirings.sort());
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    expect(r.incidents.map(incidentView).sort(byId)).toEqual(liveIncidents.sort(byId));
    expect(r.changes.map(changeView)).toEqual(liveChanges);
    // and replay acted on nothing: the live list is what live made it.
    expect((await createEnforcementRepo(store).loadAll()).length).toBe(liveChanges.length);
    // Sixty detector ticks against the real store (30 live, 30 replayed): about 20 s on an idle 2-core machine.
  }, 240_000);
});
