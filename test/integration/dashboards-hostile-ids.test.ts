// Ids come from the spans clients send, so a dashboard variable's options are attacker-controlled text. Picking
// one in Grafana must filter by it as data: the ClickHouse plugin splices `${var:singlequote}` into the SQL and
// escapes only the quote (not the backslash), so the options carry hex values and the SQL decodes them.
import { beforeAll, describe, expect, it } from 'vitest';
import { dashboardQueries, loadDashboards, runDashboardQuery, variablesFor } from '../helpers/dashboard-queries.ts';
import { usageEvent } from '../helpers/events.ts';
import { useTestStore } from '../helpers/test-store.ts';
import { createUsageRepo } from '../../store/usage-repo.ts';

const ctx = useTestStore();
const usage = loadDashboards().find((d) => d.dashboard.uid === 'tollkeeper-usage')!.dashboard;
const query = (where: string) => dashboardQueries(usage).find((q) => q.where === where)!;
const now = Date.now();
const range = { fromMs: now - 3_600_000, toMs: now + 60_000 };

// Each breaks out of a single-quoted ClickHouse string once only the quote is escaped.
const HOSTILE = ["\\') OR 1=1 --", 'a\\', "x'); DROP TABLE usage_events; --", 'ünï ‮code 🙂'];

beforeAll(async () => {
  const events = [
    ...HOSTILE.map((tenant, i) => usageEvent({ time: now - 60_000 * (i + 1), tenant, apiKey: `hk${i}`, costUsd: 1 + i, requests: 1 })),
    usageEvent({ time: now - 120_000, tenant: 'bystander', apiKey: 'bk', costUsd: 100, requests: 1 }),
  ];
  await createUsageRepo(ctx.ts.store).insert(events);
});

describe('dashboard variables holding hostile ids', () => {
  it('the tenant variable lists each id as its text, with a value that survives quoting', async () => {
    const { rows } = await runDashboardQuery(ctx.ts.store, query('variable tenant'), range, variablesFor(usage, {}, {}));
    const texts = rows.map((r) => String(r.text));
    expect(texts).toEqual(expect.arrayContaining([...HOSTILE, 'bystander']));
    for (const r of rows) expect(String(r.value)).toMatch(/^[0-9A-F]*$/);
  });

  it.each(HOSTILE.map((t, i) => [t, i] as const))('picking tenant %j shows only its spend', async (tenant, i) => {
    const { sql, rows } = await runDashboardQuery(ctx.ts.store, query('Spend'), range, variablesFor(usage, { tenant: [tenant] }, {}));
    expect(Number(rows[0]?.value), sql).toBeCloseTo(1 + i, 9);
  });

  it('picking two hostile tenants at once sums just those two', async () => {
    const { sql, rows } = await runDashboardQuery(ctx.ts.store, query('Spend'), range, variablesFor(usage, { tenant: [HOSTILE[1]!, HOSTILE[0]!] }, {}));
    expect(Number(rows[0]?.value), sql).toBeCloseTo(2 + 1, 9);
  });
});
