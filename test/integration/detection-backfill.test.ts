import { describe, expect, it } from 'vitest';
import { resolveAnomalyConfig } from '../../core/anomaly/config.ts';
import { createDetection } from '../../detector/detection.ts';
import { createAnomalyRepo } from '../../store/anomaly-repo.ts';
import { usageEvent } from '../helpers/events.ts';
import { useTestStore } from '../helpers/test-store.ts';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 11, 3, 9, 20, 30);

describe('detection rebuilds the baselines of entities whose history arrives late', () => {
  const ctx = useTestStore();

  it('a backfill for one key changes its baseline on the next step after invalidate, not before', async () => {
    const { repo, store } = ctx.ts;
    const hourly = (key: string, hours: number[]) => hours.map((h) => usageEvent({ time: NOW - h * HOUR, apiKey: key, tenant: 't', requests: 1, costUsd: 0.01, inputTokens: 100 }));
    await repo.insert([...hourly('k-1', [1, 2, 3]), ...hourly('k-2', [1, 2, 3]), usageEvent({ time: NOW - 10_000, apiKey: 'k-1', tenant: 't', costUsd: 0.01, requests: 1 }), usageEvent({ time: NOW - 10_000, apiKey: 'k-2', tenant: 't', costUsd: 0.01, requests: 1 })]);
    const detection = createDetection({ repo: createAnomalyRepo(store), config: resolveAnomalyConfig({ scopes: ['api_key'] }), quietMs: 120_000 });
    await detection.step([], NOW);
    const before = detection.baseline('api_key', 'k-1')!;
    expect(before.activeHours).toBe(3);
    // a migration brings two days of older history for k-1
    await repo.insert(hourly('k-1', Array.from({ length: 48 }, (_, i) => 24 + i)));
    await detection.step([], NOW + 2000);
    expect(detection.baseline('api_key', 'k-1')!.activeHours).toBe(3); // cached for the hour
    detection.invalidate([{ kind: 'api_key', id: 'k-1' }]);
    await detection.step([], NOW + 4000);
    expect(detection.baseline('api_key', 'k-1')!.activeHours).toBe(51);
    expect(detection.baseline('api_key', 'k-2')!.builtAt).toBe(before.builtAt); // the others stay cached
  });
});
