import { firingKey, type Firing } from '../core/quota/step.ts';
import type { ClickHouse } from './port.ts';
import { chTime } from './time.ts';

/** Thresholds already fired: each fires once per entity, policy and period, across restarts. */
export function createFiringsRepo(ch: ClickHouse) {
  return {
    /** Stores the thresholds one tick fired, in one insert (however many entities crossed at once). */
    async record(firings: readonly Firing[]): Promise<void> {
      if (firings.length === 0) return;
      await ch.insert(
        'quota_firings',
        firings.map((f) => ({ policy: f.policy, scope: f.scope, entity: f.entity, period_key: f.periodKey, threshold: f.threshold, fired_at: chTime(f.firedAt) })),
        { tag: 'quota.firing' },
      );
    },
    /** Keys fired since `sinceMs` (older periods are over and cannot fire again). */
    async loadKeys(sinceMs: number): Promise<Set<string>> {
      const rows = await ch.query<{ policy: string; scope: string; entity: string; period_key: string; threshold: number }>(
        `SELECT policy, scope, entity, period_key, threshold FROM ${ch.table('quota_firings')} WHERE fired_at >= {since:DateTime64(3)}`,
        { since: chTime(sinceMs) },
        { tag: 'quota.firings.load' },
      );
      return new Set(rows.map((r) => firingKey({ policy: r.policy, scope: r.scope, entity: r.entity, periodKey: r.period_key, threshold: Number(r.threshold) })));
    },
  };
}
export type FiringsRepo = ReturnType<typeof createFiringsRepo>;
