// A quota tick where many entities cross their limit at once (500 keys in the alerts benchmark): the firings are
// one write, the revocation list changes another, gateways wake once, and nothing is lost or done twice, also when
// the log write fails and is retried.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../core/quota/policy.ts';
import type { Firing } from '../../core/quota/step.ts';
import { createBus, type BusEvent } from '../../detector/bus.ts';
import { createEnforcement } from '../../detector/enforcement.ts';
import { createQuotaJob } from '../../detector/quota-job.ts';
import { createEnforcementRepo, type LoggedChange } from '../../store/enforcement-repo.ts';
import { createFiringsRepo } from '../../store/firings-repo.ts';
import { createQuotaRepo } from '../../store/quota-repo.ts';
import { usageEvent } from '../helpers/events.ts';
import { useTestStore } from '../helpers/test-store.ts';

const KEYS = 200;
const policy: Policy = { name: 'cap', scope: 'api_key', match: {}, period: { kind: 'calendar', unit: 'day', timezone: 'UTC' }, limits: { requests: 1 }, thresholds: [1], action: { type: 'revoke' } };

describe('a quota tick that revokes many keys at once', () => {
  const ctx = useTestStore();

  /** The real repositories, with every write counted and the log's writes failable (fault injection, not a mock). */
  function setup(now: () => number) {
    const { store } = ctx.ts;
    const realLog = createEnforcementRepo(store);
    const realFirings = createFiringsRepo(store);
    const writes = { firings: [] as number[], log: [] as number[], failLog: 0 };
    const log = {
      ...realLog,
      async append(cs: readonly LoggedChange[]) {
        if (writes.failLog > 0) {
          writes.failLog--;
          throw new Error('store briefly away');
        }
        writes.log.push(cs.length);
        await realLog.append(cs);
      },
    };
    const firings = { ...realFirings, async record(fs: readonly Firing[]) { writes.firings.push(fs.length); await realFirings.record(fs); } };
    const enforcement = createEnforcement({ repo: log, logger: pino({ level: 'silent' }), now });
    const wakes: number[] = [];
    enforcement.onChange((changes) => wakes.push(changes.length));
    const events: BusEvent[] = [];
    const job = createQuotaJob({ policies: () => [policy], limitsFor: () => policy.limits, quotaRepo: createQuotaRepo(store), firings, enforcement, bus: createBus([(e) => events.push(...e)]), shadow: false });
    return { job, enforcement, writes, wakes, events, log: realLog };
  }

  it('stores the firings in one write and the revocations in one more, versions one per change, and does nothing twice', async () => {
    const { repo, store } = ctx.ts;
    const now = Date.now();
    await repo.insert(Array.from({ length: KEYS }, (_, i) => usageEvent({ apiKey: `burst-${i}`, requests: 2, time: now - 1000 })));
    const s = setup(() => now);
    // Gateways are woken through the listeners (the gateway feed): one call for the whole decision.
    const woken = new Promise<void>((resolve) => s.enforcement.onChange(() => resolve()));
    await s.job.run(now);
    await woken;

    expect(s.writes).toEqual({ firings: [KEYS], log: [KEYS], failLog: 0 });
    expect(s.wakes).toEqual([KEYS]);
    expect(s.enforcement.version).toBe(KEYS);
    expect(s.enforcement.snapshot().entries.map((e) => e.id).sort()).toEqual(Array.from({ length: KEYS }, (_, i) => `burst-${i}`).sort());
    const logged = await s.log.loadAll();
    expect(logged.map((c) => c.version)).toEqual(Array.from({ length: KEYS }, (_, i) => i + 1));
    expect(new Set(logged.map((c) => `${c.op} ${c.kind} ${c.id} ${c.actor}`)).size).toBe(KEYS);
    const [fired] = await store.query<{ n: string }>(`SELECT count() AS n FROM ${store.table('quota_firings')} FINAL`);
    expect(Number(fired!.n)).toBe(KEYS);
    // The bus sees the same events as one at a time: a crossing and a revocation per key, in one publish.
    expect(s.events.filter((e) => e.type === 'quota.exceeded')).toHaveLength(KEYS);
    expect(s.events.filter((e) => e.type === 'key.revoked')).toHaveLength(KEYS);

    // The next tick has nothing new to fire or list; a restart rebuilds the same list at the same version.
    await s.job.run(now + 1000);
    expect(s.writes.firings).toEqual([KEYS, 0]);
    expect(s.writes.log).toEqual([KEYS]);
    expect(s.events).toHaveLength(2 * KEYS);
    const restarted = setup(() => now + 2000);
    await restarted.enforcement.load();
    expect(restarted.enforcement.version).toBe(KEYS);
    await restarted.job.run(now + 2000);
    expect(restarted.writes).toEqual({ firings: [0], log: [], failLog: 0 });
    expect(restarted.events).toEqual([]);
  });

  it('a failed log write keeps the changes in order and writes them once, whole, on the next chance', async () => {
    const { repo } = ctx.ts;
    const now = Date.now();
    const s = setup(() => now);
    // Keys of its own: the first test's keys have fired already in this period.
    await repo.insert(Array.from({ length: 50 }, (_, i) => usageEvent({ apiKey: `retry-${i}`, requests: 2, time: now - 1000 })));
    const before = (await s.log.loadAll()).length;
    await s.enforcement.load();
    const v0 = s.enforcement.version;
    s.writes.failLog = 1;
    await s.job.run(now);
    // Gateways already see the revocations (the list is in memory); the log has not got them yet.
    expect(s.enforcement.version).toBe(v0 + 50);
    expect((await s.log.loadAll()).length).toBe(before);
    await s.enforcement.expire();
    const logged = await s.log.loadAll();
    expect(logged.length).toBe(before + 50);
    expect(logged.slice(before).map((c) => c.version)).toEqual(Array.from({ length: 50 }, (_, i) => v0 + i + 1));
    expect(s.writes.log).toEqual([50]);
  });
});
