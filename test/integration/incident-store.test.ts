// Incidents in the store and in its in-memory twin (replay): the money columns round-trip, both answer the same
// filters the same way, and incidents stored before the money columns existed still read.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { IncidentRecord } from '../../core/anomaly/step.ts';
import { createAnomalyRepo } from '../../store/anomaly-repo.ts';
import { openClickHouse } from '../../store/clickhouse.ts';
import type { IncidentFilter } from '../../store/incident-rows.ts';
import { createMemoryIncidentRepo } from '../../store/memory-repos.ts';
import { loadMigrations, migrate } from '../../store/migrate.ts';
import { serverUrl } from '../helpers/app.ts';
import { removeTestStores, sharedDataDir } from '../helpers/test-store.ts';

const T0 = Date.UTC(2026, 11, 3, 9, 0, 0);
const MIN = 60_000;

function incident(p: Partial<IncidentRecord> & { id: string }): IncidentRecord {
  return {
    kind: 'api_key', entityId: 'k-1', tenant: 'acme', pattern: 'burst', severity: 'warning', score: 5, metric: 'cost_usd', observed: 3, expected: 0.5, expectedSpread: 0.2,
    startedAt: T0, detectedAt: T0 + MIN, updatedAt: T0 + MIN, resolvedAt: null, windowStart: T0, windowEnd: T0 + MIN, explanation: 'x', action: 'alert', shadow: false, ...p,
  };
}

async function freshStore(name: string) {
  const database = `tk_inc_${process.pid}_${name}_${Math.random().toString(36).slice(2, 8)}`;
  return serverUrl
    ? openClickHouse({ kind: 'server', url: serverUrl, database, username: 'default', password: '' })
    : openClickHouse({ kind: 'chdb', path: join(sharedDataDir(), 'clickhouse'), database });
}

const stores: Awaited<ReturnType<typeof freshStore>>[] = [];
afterAll(async () => {
  for (const s of stores) {
    if (serverUrl) await s.command(`DROP DATABASE IF EXISTS \`${s.database}\``);
    await s.close();
  }
  removeTestStores();
});

describe('incident storage', () => {
  it('keeps spend, usual and projected hourly spend and the enforcement time; the memory twin answers every filter the same', async () => {
    const store = await freshStore('money');
    stores.push(store);
    await migrate(store);
    const repo = createAnomalyRepo(store);
    const twin = createMemoryIncidentRepo();
    const enforced = incident({ id: 'inc-a', severity: 'critical', action: 'revoke', spendUsd: 4.125, usualHourlyUsd: 0.6, projectedHourlyUsd: 90.5, enforcedAt: T0 + 2 * MIN, detectedAt: T0 + 2 * MIN });
    const warning = incident({ id: 'inc-b', entityId: 'k-2', pattern: 'slow_drip', spendUsd: 0.4, usualHourlyUsd: 0.2, projectedHourlyUsd: 0.9, enforcedAt: null, startedAt: T0 + 5 * MIN, detectedAt: T0 + 6 * MIN });
    // Nothing priced, and a projection that is not a number: stored as unknown, not as garbage.
    const unpriced = incident({ id: 'inc-c', kind: 'tenant', entityId: 'acme', tenant: '', pattern: 'tenant_spike', metric: 'requests', projectedHourlyUsd: Number.POSITIVE_INFINITY, detectedAt: T0 + 3 * MIN });
    for (const r of [repo, twin]) {
      await r.saveIncidents([enforced, warning, unpriced], 1);
      // A newer version resolves the warning; an older version arriving late must not win.
      await r.saveIncidents([{ ...warning, resolvedAt: T0 + 9 * MIN, spendUsd: 0.5 }], 3);
      await r.saveIncidents([{ ...warning, spendUsd: 0.45 }], 2);
    }
    const a = await repo.getIncident('inc-a');
    expect(a).toMatchObject({ spendUsd: 4.125, usualHourlyUsd: 0.6, projectedHourlyUsd: 90.5, enforcedAt: T0 + 2 * MIN });
    expect(await repo.getIncident('inc-b')).toMatchObject({ spendUsd: 0.5, enforcedAt: null, resolvedAt: T0 + 9 * MIN });
    const c = await repo.getIncident('inc-c');
    expect(c).toBeDefined();
    expect([c!.spendUsd, c!.projectedHourlyUsd, c!.enforcedAt]).toEqual([undefined, undefined, undefined]);

    const filters: IncidentFilter[] = [
      { limit: 100 },
      { limit: 1 },
      { status: 'open', limit: 100 },
      { status: 'resolved', limit: 100 },
      { kind: 'tenant', limit: 100 },
      { entity: 'k-1', severity: 'critical', limit: 100 },
      { pattern: 'slow_drip', limit: 100 },
      { from: T0 + MIN, limit: 100 },
      { to: T0 + 5 * MIN, limit: 100 },
    ];
    for (const f of filters) {
      const stored = await repo.listIncidents(f);
      expect(stored.length, JSON.stringify(f)).toBeGreaterThan(0);
      expect(await twin.listIncidents(f), JSON.stringify(f)).toEqual(stored);
    }
    expect(await twin.getIncident('inc-a')).toEqual(a);
  });

  it('incidents stored before the money columns existed read back without them', async () => {
    const store = await freshStore('legacy');
    stores.push(store);
    const all = await loadMigrations();
    const spend = all.find((m) => m.name === 'incident_spend');
    if (!spend) throw new Error('store/migrations has no incident_spend migration');
    await migrate(store, all.filter((m) => m.version < spend.version));
    await store.insert('incidents', [
      {
        id: 'old', version: 1, kind: 'api_key', entity: 'k-9', tenant: '', pattern: 'burst', severity: 'critical', score: 9, metric: 'cost_usd', observed: 2, expected: 0.1,
        expected_spread: 0.05, started_at: '2026-11-01 10:00:00.000', detected_at: '2026-11-01 10:01:00.000', updated_at: '2026-11-01 10:01:00.000', resolved_at: null,
        window_start: '2026-11-01 10:00:00.000', window_end: '2026-11-01 10:01:00.000', explanation: 'old sentence; $1.20 spent from onset to enforcement', action: 'revoke', shadow: 0,
      },
    ]);
    expect(await migrate(store)).toContain(spend.version);
    const old = await createAnomalyRepo(store).getIncident('old');
    expect(old).toMatchObject({ id: 'old', severity: 'critical', explanation: 'old sentence; $1.20 spent from onset to enforcement' });
    expect([old!.spendUsd, old!.usualHourlyUsd, old!.projectedHourlyUsd, old!.enforcedAt]).toEqual([undefined, undefined, undefined, undefined]);
  });
});
