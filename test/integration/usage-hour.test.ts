// The hourly rollup (migration 0012): fed by its view alongside usage_minute, backfilled idempotently from what a
// store held before the migration, and rebuilt with the minute rollup when a range is re-rated.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../store/migrate.ts';
import { createQuotaRepo } from '../../store/quota-repo.ts';
import { rebuildRollup } from '../../store/reprice.ts';
import type { Policy } from '../../core/quota/policy.ts';
import { writeFixture, type Fixture } from '../helpers/dashboard-fixture.ts';
import { useTestStore } from '../helpers/test-store.ts';

const ctx = useTestStore();
let fx: Fixture;
let backfill: string;

/** Every (kind, entity, hour, tenant) of usage_hour with its sums, merged and rounded so two states compare exactly. */
async function hourly(): Promise<unknown[]> {
  const s = ctx.ts.store;
  return s.query(
    `SELECT kind, entity, hour, tenant, sum(events) AS events, sum(requests) AS requests, sum(input_tokens) AS input, sum(output_tokens) AS output,
            round(sum(cost_usd), 9) AS cost, sum(unpriced_requests) AS unpriced
     FROM ${s.table('usage_hour')} GROUP BY kind, entity, hour, tenant ORDER BY kind, entity, hour, tenant`,
  );
}

async function runBackfill(): Promise<void> {
  await ctx.ts.store.command(backfill.replaceAll('{{db}}', '`' + ctx.ts.store.database + '`'));
}

beforeAll(async () => {
  fx = await writeFixture(ctx.ts.store, Date.now());
  const m = (await loadMigrations()).find((x) => x.version === 12);
  if (!m) throw new Error('store/migrations has no migration 0012');
  backfill = m.statements.at(-1)!;
  if (!backfill.startsWith('INSERT INTO {{db}}.usage_hour')) throw new Error(`migration 0012 should end with the backfill, ends with: ${backfill.slice(0, 60)}`);
});

describe('usage_hour', () => {
  it('the view fills it from the same inserts as usage_minute: every kind sums to the same, and model rows to the events', async () => {
    const s = ctx.ts.store;
    const byKind = (table: string) =>
      s.query(`SELECT kind, sum(events) AS events, sum(requests) AS requests, round(sum(cost_usd), 9) AS cost FROM ${s.table(table)} WHERE kind != 'model' GROUP BY kind ORDER BY kind`);
    expect(await byKind('usage_hour')).toEqual(await byKind('usage_minute'));
    const [models] = await s.query<{ events: string }>(`SELECT sum(events) AS events FROM ${s.table('usage_hour')} WHERE kind = 'model'`);
    expect(Number(models!.events)).toBe(fx.events.filter((e) => e.model).length);
  });

  it('the backfill rebuilds an empty table to exactly what the view wrote, and a rerun adds nothing', async () => {
    const before = await hourly();
    expect(before.length).toBeGreaterThan(0);
    await ctx.ts.store.command(`TRUNCATE TABLE ${ctx.ts.store.table('usage_hour')}`);
    await runBackfill();
    expect(await hourly()).toEqual(before);
    await runBackfill();
    expect(await hourly()).toEqual(before);
  });

  it('a backfill cut short (some kinds written, others not) completes on the rerun', async () => {
    const before = await hourly();
    await ctx.ts.store.command(`ALTER TABLE ${ctx.ts.store.table('usage_hour')} DELETE WHERE kind IN ('api_key', 'model')`, undefined, { settings: { mutations_sync: 2 } });
    expect((await hourly()).length).toBeLessThan(before.length);
    await runBackfill();
    expect(await hourly()).toEqual(before);
  });

  it('re-rating a range rebuilds the hours it touches from the rebuilt minutes, without doubling', async () => {
    const before = await hourly();
    // Half an hour inside the fixture's range: the rebuild covers whole hours on both sides.
    await rebuildRollup(ctx.ts.store, { from: fx.range.fromMs + 90 * 60_000, to: fx.range.fromMs + 120 * 60_000 });
    expect(await hourly()).toEqual(before);
  });

  it('quota usage over a whole-hour day (hourly rollup) equals the same window read per minute', async () => {
    const repo = createQuotaRepo(ctx.ts.store);
    const policy: Policy = { name: 'daily', scope: 'api_key', match: {}, period: { kind: 'calendar', unit: 'day', timezone: 'UTC' }, limits: { cost_usd: 1 }, thresholds: [1], action: { type: 'alert' } };
    const day = Math.floor(fx.range.fromMs / 86_400_000) * 86_400_000;
    const sorted = (rows: Awaited<ReturnType<typeof repo.usageByEntity>>) =>
      rows.map((r) => ({ ...r, usage: { ...r.usage, cost_usd: Math.round(r.usage.cost_usd * 1e9) } })).sort((a, b) => (a.entity < b.entity ? -1 : 1));
    // Whole hours from midnight over two days reads usage_hour; starting 1 ms later it reads usage_minute (from the same minute).
    const hourly = sorted(await repo.usageByEntity(policy, { start: day, end: day + 2 * 86_400_000 }));
    const perMinute = sorted(await repo.usageByEntity(policy, { start: day + 1, end: day + 2 * 86_400_000 }));
    expect(hourly.length).toBeGreaterThan(0);
    expect(hourly).toEqual(perMinute);
  });
});
