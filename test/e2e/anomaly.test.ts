import { afterEach, describe, expect, it } from 'vitest';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { usageEvent } from '../helpers/events.ts';
import { createTracer } from '../helpers/otel.ts';
import { waitFor } from '../helpers/wait.ts';

const HOUR = 3_600_000;

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close({ cleanup: true });
  t = undefined;
});

/** A week of ordinary traffic for a few keys: about $0.60 and 20 requests an hour each. */
async function backfill(app: TestApp, keys: string[], now: number): Promise<void> {
  const events = [];
  for (const key of keys) {
    for (let h = 7 * 24; h >= 1; h--) {
      for (let i = 0; i < 4; i++) {
        events.push(usageEvent({ apiKey: key, tenant: 'acme', costUsd: 0.15, inputTokens: 3000, outputTokens: 500, requests: 5, time: now - h * HOUR + i * 900_000 }));
      }
    }
  }
  await createUsageRepo(app.app.store).insert(events);
}

describe('denial-of-wallet detection end to end', () => {
  it('revokes a leaked key within seconds of a spend burst and explains why, leaving normal keys alone', async () => {
    t = await startApp({ yaml: 'detector: { interval: 250ms }\nanomaly: { actions: { warning: alert, critical: revoke } }\n' });
    const now = Date.now();
    await backfill(t, ['k-1', 'k-2', 'k-3', 'k-4', 'k-5', 'k-6'], now);
    const sdk = createTracer(t.otlpUrl, 'protobuf');
    const attackStart = Date.now();
    // The leaked key: 40 calls of ~$0.75 each within seconds (gpt-4o list price).
    for (let i = 0; i < 40; i++) {
      sdk.chat({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 100_000, 'gen_ai.usage.output_tokens': 50_000, 'tollkeeper.api_key.id': 'k-leaked', 'tenant.id': 'acme' });
    }
    // A normal key at its usual pace.
    sdk.chat({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 3000, 'gen_ai.usage.output_tokens': 500, 'tollkeeper.api_key.id': 'k-1', 'tenant.id': 'acme' });
    await sdk.flush();

    const entry = await waitFor(
      async () => {
        const res = await fetch(`${t!.apiUrl}/v1/revocations`, { headers: { authorization: `Bearer ${t!.gatewayToken}` } });
        const body = (await res.json()) as { entries: { kind: string; id: string; source: string; ref: string; reason: string; created_at: string }[] };
        return body.entries.find((e) => e.id === 'k-leaked');
      },
      { what: 'k-leaked revoked by the detector', timeoutMs: 30_000 },
    );
    const delayMs = Date.now() - attackStart;
    expect(entry).toMatchObject({ kind: 'api_key', source: 'anomaly' });
    expect(delayMs).toBeLessThan(30_000);
    const incidents: any = await (await fetch(`${t.apiUrl}/api/incidents?entity=k-leaked`, { headers: { authorization: `Bearer ${t.adminToken}` } })).json();
    const incident = incidents.incidents[0];
    expect(incident).toMatchObject({ entity: { kind: 'api_key', id: 'k-leaked' }, severity: 'critical', status: 'open', action: 'revoke' });
    expect(incident.explanation).toMatch(/k-leaked/);
    expect(incident.observed).toBeGreaterThan(incident.expected);
    // The money is in columns, not only in the sentence: what the attack cost until the key was revoked.
    expect(incident.spend_usd).toBeGreaterThan(0);
    expect(Date.parse(incident.enforced_at)).toBeGreaterThanOrEqual(Date.parse(incident.started_at));
    expect(Date.parse(incident.enforced_at)).toBeLessThanOrEqual(Date.parse(entry.created_at));
    expect(incident.projected_hourly_usd).toBeGreaterThan(incident.usual_hourly_usd);
    const one: any = await (await fetch(`${t.apiUrl}/api/incidents/${incident.id}`, { headers: { authorization: `Bearer ${t.adminToken}` } })).json();
    expect(one.id).toBe(incident.id);
    const revoked: any = await (await fetch(`${t.apiUrl}/v1/revocations`, { headers: { authorization: `Bearer ${t.gatewayToken}` } })).json();
    expect(revoked.entries.map((e: { id: string }) => e.id)).not.toContain('k-1');
    await sdk.shutdown();

    // A restart neither forgets history nor re-fires: the open incident is kept, not duplicated, and the
    // well-known keys are still judged against their own history (not their peers) on the first ticks.
    const { dataDir, database } = t;
    await t.close();
    t = await startApp({ dataDir, database, startLoop: false, yaml: 'detector: { interval: 1h }\n' });
    const versionBefore = t.app.enforcement!.version;
    await t.app.loop!.tickNow();
    await t.app.loop!.tickNow();
    const after: any = await (await fetch(`${t.apiUrl}/api/incidents`, { headers: { authorization: `Bearer ${t.adminToken}` } })).json();
    expect(after.incidents.filter((i: { entity: { id: string } }) => i.entity.id === 'k-leaked').map((i: { id: string }) => i.id)).toEqual([incident.id]);
    // The spend stays frozen at enforcement across the restart.
    const kept = after.incidents.find((i: { id: string }) => i.id === incident.id);
    expect({ spend_usd: kept.spend_usd, enforced_at: kept.enforced_at }).toEqual({ spend_usd: incident.spend_usd, enforced_at: incident.enforced_at });
    expect(after.incidents.filter((i: { entity: { id: string }; severity: string }) => i.entity.id !== 'k-leaked' && i.entity.id !== 'acme' && i.severity === 'critical')).toEqual([]);
    expect(t.app.enforcement!.version).toBe(versionBefore);
  });

  it('in shadow mode records the incident and what it would have done, and acts on nothing', async () => {
    t = await startApp({ yaml: 'detector: { interval: 1h, shadow: true }\npolicies: [{ name: cap, scope: api_key, limits: { cost_usd: 1 }, action: revoke }]\n', startLoop: false });
    const now = Date.now();
    await backfill(t, ['k-1', 'k-2', 'k-3', 'k-4', 'k-5', 'k-6'], now);
    const incident = await waitFor(
      async () => {
        await createUsageRepo(t!.app.store).insert(Array.from({ length: 20 }, () => usageEvent({ apiKey: 'k-shadow', tenant: 'acme', costUsd: 0.75, inputTokens: 100_000, outputTokens: 50_000, time: Date.now() - 1000 })));
        await t!.app.loop!.tickNow();
        const body: any = await (await fetch(`${t!.apiUrl}/api/incidents?entity=k-shadow&severity=critical`, { headers: { authorization: `Bearer ${t!.adminToken}` } })).json();
        return body.incidents[0];
      },
      { what: 'a critical shadow incident', timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(incident).toMatchObject({ severity: 'critical', action: 'revoke', shadow: true });
    const firings = await t.app.store.query<{ threshold: number }>(`SELECT threshold FROM ${t.app.store.table('quota_firings')} WHERE entity = 'k-shadow'`);
    expect(firings.map((f) => f.threshold).sort()).toEqual([0.5, 0.8, 1]);
    expect(t.app.enforcement!.snapshot().entries).toEqual([]);
  });
});
