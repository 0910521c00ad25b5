import type { ClickHouse } from './port.ts';
import { chTime, fromChTime } from './time.ts';

export interface PolicyRecord {
  name: string;
  version: number;
  body: unknown;
  deleted: boolean;
  changedAt: number;
  actor: string;
}

export interface OverrideRecord {
  policy: string;
  entity: string;
  version: number;
  limits: Record<string, number>;
  deleted: boolean;
  changedAt: number;
  actor: string;
}

/** Versioned storage of API-managed policies and per-entity overrides: append a row per change, read the newest. */
export function createPolicyRepo(ch: ClickHouse) {
  const policies = ch.table('policies');
  const overrides = ch.table('policy_overrides');
  return {
    async appendPolicy(r: PolicyRecord): Promise<void> {
      await ch.insert('policies', [{ name: r.name, version: r.version, body: JSON.stringify(r.body), deleted: r.deleted ? 1 : 0, changed_at: chTime(r.changedAt), actor: r.actor }], { tag: 'policy.append' });
    },
    /** Every version of every policy, oldest first. */
    async allPolicyVersions(): Promise<PolicyRecord[]> {
      const rows = await ch.query<{ name: string; version: number; body: string; deleted: number; changed_at: string; actor: string }>(
        `SELECT name, version, body, deleted, changed_at, actor FROM ${policies} ORDER BY name, version`,
        undefined,
        { tag: 'policy.load' },
      );
      return rows.map((r) => ({ name: r.name, version: Number(r.version), body: JSON.parse(r.body) as unknown, deleted: r.deleted === 1, changedAt: fromChTime(r.changed_at), actor: r.actor }));
    },
    async appendOverride(r: OverrideRecord): Promise<void> {
      await ch.insert(
        'policy_overrides',
        [{ policy: r.policy, entity: r.entity, version: r.version, limits: JSON.stringify(r.limits), deleted: r.deleted ? 1 : 0, changed_at: chTime(r.changedAt), actor: r.actor }],
        { tag: 'override.append' },
      );
    },
    async allOverrideVersions(): Promise<OverrideRecord[]> {
      const rows = await ch.query<{ policy: string; entity: string; version: number; limits: string; deleted: number; changed_at: string; actor: string }>(
        `SELECT policy, entity, version, limits, deleted, changed_at, actor FROM ${overrides} ORDER BY policy, entity, version`,
        undefined,
        { tag: 'override.load' },
      );
      return rows.map((r) => ({
        policy: r.policy,
        entity: r.entity,
        version: Number(r.version),
        limits: JSON.parse(r.limits) as Record<string, number>,
        deleted: r.deleted === 1,
        changedAt: fromChTime(r.changed_at),
        actor: r.actor,
      }));
    },
  };
}
export type PolicyRepo = ReturnType<typeof createPolicyRepo>;
