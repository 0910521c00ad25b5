import type { Outcome } from '../core/errors.ts';
import { policyToInput } from '../core/quota/policy-format.ts';
import { check, Limits, parsePolicy, type PolicyInput } from '../core/quota/policy-schema.ts';
import type { Policy } from '../core/quota/policy.ts';
import { formatDuration, parseDuration } from '../core/quota/duration.ts';
import { MIN_ROLLING_MS } from '../core/quota/period.ts';
import type { OverrideRecord, PolicyRecord, PolicyRepo } from '../store/policy-repo.ts';

export interface PolicyView {
  name: string;
  source: 'config' | 'api';
  version: number;
  updated_at: string | null;
  policy: PolicyInput;
}

/**
 * A stored policy as it applies now. Rolling windows under a minute or of part minutes were once accepted; such a
 * policy keeps working with its window rounded up to whole minutes (at least 1m) instead of vanishing at the next start.
 */
function storedPolicy(body: unknown): ReturnType<typeof parsePolicy> {
  const parsed = parsePolicy(body);
  if (parsed.ok || typeof body !== 'object' || body === null) return parsed;
  const period = (body as { period?: unknown }).period;
  if (typeof period !== 'object' || period === null || !('rolling' in period)) return parsed;
  const ms = parseDuration(String(period.rolling));
  if (!ms.ok || ms.ms <= 0 || ms.ms % MIN_ROLLING_MS === 0) return parsed;
  return parsePolicy({ ...body, period: { rolling: formatDuration(Math.ceil(ms.ms / MIN_ROLLING_MS) * MIN_ROLLING_MS) } });
}

/**
 * Policies from the config file (read-only here) and from the admin API (versioned in ClickHouse), and the
 * per-entity overrides of their limits. Reads come from memory; every change is written before it applies.
 */
export function createPolicyService(deps: { repo: PolicyRepo; configPolicies: readonly Policy[]; now: () => number }) {
  const fromConfig = new Map(deps.configPolicies.map((p) => [p.name, p]));
  const api = new Map<string, { record: PolicyRecord; policy: Policy }>();
  const history = new Map<string, PolicyRecord[]>();
  const overrides = new Map<string, OverrideRecord>();
  const overrideKey = (policy: string, entity: string) => `${policy}\u0000${entity}`;
  let active: Policy[] = [...fromConfig.values()];

  function rebuild(): void {
    active = [...fromConfig.values(), ...[...api.values()].map((v) => v.policy)];
  }

  function applyRecord(r: PolicyRecord): void {
    history.set(r.name, [...(history.get(r.name) ?? []), r]);
    if (r.deleted) api.delete(r.name);
    else {
      const parsed = storedPolicy(r.body);
      if (parsed.ok) api.set(r.name, { record: r, policy: parsed.value });
    }
  }

  function view(name: string): PolicyView | undefined {
    const c = fromConfig.get(name);
    if (c) return { name, source: 'config', version: 1, updated_at: null, policy: policyToInput(c) };
    const a = api.get(name);
    if (!a) return undefined;
    return { name, source: 'api', version: a.record.version, updated_at: new Date(a.record.changedAt).toISOString(), policy: policyToInput(a.policy) };
  }

  // Changes run one at a time: each checks what exists and numbers its version from the one before, so two
  // concurrent updates get versions n+1 and n+2 (not both n+1) and of two concurrent creates one is a conflict.
  let queue: Promise<unknown> = Promise.resolve();
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  }

  async function write(name: string, body: unknown, deleted: boolean, actor: string): Promise<PolicyRecord> {
    const versions = history.get(name) ?? [];
    const record: PolicyRecord = { name, version: (versions.at(-1)?.version ?? 0) + 1, body, deleted, changedAt: deps.now(), actor };
    await deps.repo.appendPolicy(record);
    applyRecord(record);
    rebuild();
    return record;
  }

  return {
    async load(): Promise<void> {
      for (const r of await deps.repo.allPolicyVersions()) if (!fromConfig.has(r.name)) applyRecord(r);
      for (const o of await deps.repo.allOverrideVersions()) overrides.set(overrideKey(o.policy, o.entity), o);
      rebuild();
    },
    active: (): readonly Policy[] => active,
    list: (): PolicyView[] => [...fromConfig.keys(), ...api.keys()].map((n) => view(n)!),
    get: (name: string) => view(name),
    history: (name: string) => (history.get(name) ?? []).map((r) => ({ version: r.version, deleted: r.deleted, changed_at: new Date(r.changedAt).toISOString(), actor: r.actor, policy: r.body })),

    create: (body: unknown, actor: string): Promise<Outcome<PolicyView>> => serial(async () => {
      const v = parsePolicy(body);
      if (!v.ok) return v;
      if (fromConfig.has(v.value.name) || api.has(v.value.name)) return { ok: false, code: 'conflict', errors: [`policy ${v.value.name} exists`] };
      await write(v.value.name, body, false, actor);
      return { ok: true, value: view(v.value.name)! };
    }),
    update: (name: string, body: unknown, actor: string): Promise<Outcome<PolicyView>> => serial(async () => {
      if (fromConfig.has(name)) return { ok: false, code: 'conflict', errors: [`policy ${name} is defined in the config file; change it there`] };
      if (!api.has(name)) return { ok: false, code: 'not_found', errors: [`no policy ${name}`] };
      const withName = typeof body === 'object' && body !== null && !Array.isArray(body) ? { ...(body), name } : body;
      if (typeof body === 'object' && body !== null && 'name' in body && (body).name !== name) {
        return { ok: false, code: 'invalid_policy', errors: ['name: a policy cannot be renamed; create a new one'] };
      }
      const v = parsePolicy(withName);
      if (!v.ok) return v;
      await write(name, withName, false, actor);
      return { ok: true, value: view(name)! };
    }),
    remove: (name: string, actor: string): Promise<Outcome<{ name: string; version: number }>> => serial(async () => {
      if (fromConfig.has(name)) return { ok: false, code: 'conflict', errors: [`policy ${name} is defined in the config file; remove it there`] };
      if (!api.has(name)) return { ok: false, code: 'not_found', errors: [`no policy ${name}`] };
      const r = await write(name, api.get(name)!.record.body, true, actor);
      return { ok: true, value: { name, version: r.version } };
    }),

    /** An entity's limits: its override's dimensions over the policy's, so a bigger budget on one keeps the others. */
    limitsFor(policy: Policy, entity: string): Policy['limits'] {
      const o = overrides.get(overrideKey(policy.name, entity));
      return o && !o.deleted ? { ...policy.limits, ...o.limits } : policy.limits;
    },
    /** Each override of a policy with the limits that apply (its dimensions over the policy's). */
    effectiveOverrides(policy: string): { entity: string; limits: Policy['limits'] }[] {
      const p = active.find((x) => x.name === policy);
      return [...overrides.values()].filter((o) => o.policy === policy && !o.deleted).map((o) => ({ entity: o.entity, limits: p ? { ...p.limits, ...o.limits } : o.limits }));
    },
    listOverrides(policy: string): { entity: string; limits: Record<string, number>; version: number; updated_at: string }[] {
      return [...overrides.values()]
        .filter((o) => o.policy === policy && !o.deleted)
        .map((o) => ({ entity: o.entity, limits: o.limits, version: o.version, updated_at: new Date(o.changedAt).toISOString() }));
    },
    setOverride: (policy: string, entity: string, body: unknown, actor: string, remove = false): Promise<Outcome<{ policy: string; entity: string; limits: Record<string, number> | null; version: number }>> => serial(async () => {
      if (!view(policy)) return { ok: false, code: 'not_found', errors: [`no policy ${policy}`] };
      const prior = overrides.get(overrideKey(policy, entity));
      if (remove && (!prior || prior.deleted)) return { ok: false, code: 'not_found', errors: [`no override for ${entity} on ${policy}`] };
      let limits: Record<string, number> = prior?.limits ?? {};
      if (!remove) {
        const v = check(Limits, (body as { limits?: unknown } | null)?.limits, 'limits');
        if (!v.ok) return v;
        limits = Object.fromEntries(Object.entries(v.value).filter(([, n]) => n !== undefined));
      }
      const record: OverrideRecord = { policy, entity, version: (prior?.version ?? 0) + 1, limits, deleted: remove, changedAt: deps.now(), actor };
      await deps.repo.appendOverride(record);
      overrides.set(overrideKey(policy, entity), record);
      return { ok: true, value: { policy, entity, limits: remove ? null : limits, version: record.version } };
    }),
  };
}
export type PolicyService = ReturnType<typeof createPolicyService>;
