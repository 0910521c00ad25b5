// Every query of the provisioned Grafana dashboards, expanded as grafana-clickhouse-datasource does, run against
// the real engine on fixture data, under several variable selections. Their structure: test/unit/dashboards-json.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { dashboardQueries, loadDashboards, runDashboardQuery, variablesFor, type Selection } from '../helpers/dashboard-queries.ts';
import { writeFixture, type Fixture } from '../helpers/dashboard-fixture.ts';
import { grafanaIntervalMs } from '../helpers/grafana-macros.ts';
import { useTestStore } from '../helpers/test-store.ts';
import type { UsageEvent } from '../../core/usage/types.ts';

const ctx = useTestStore();
let fx: Fixture;
const dashboards = loadDashboards();
const byUid = (uid: string) => dashboards.find((d) => d.dashboard.uid === uid)!.dashboard;

/** Columns each query must return (Grafana's field names: panels, thresholds and overrides refer to them). */
const COLUMNS: Record<string, string[]> = {
  Spend: ['value'],
  Tokens: ['value'],
  'LLM requests': ['value'],
  'Unpriced requests': ['value'],
  'Unpriced requests over time': ['time', 'model', 'unpriced_requests'],
  'Open incidents': ['value'],
  'Revoked or throttled': ['value'],
  'Spend by API key': ['time', 'api_key', 'spend'],
  'Spend by tenant': ['time', 'tenant', 'spend'],
  'Spend by agent': ['time', 'agent', 'spend'],
  'Spend by model': ['time', 'model', 'spend'],
  'Tokens by API key': ['time', 'api_key', 'tokens'],
  'Tokens by tenant': ['time', 'tenant', 'tokens'],
  'Tokens by agent': ['time', 'agent', 'tokens'],
  'Tokens by model': ['time', 'model', 'tokens'],
  'Top spenders': ['entity', 'tenants', 'spend', 'share', 'tokens', 'requests', 'unpriced_requests'],
  'Quota utilization reached': ['quota', 'utilization', 'last_crossed'],
  'Incidents started': ['time', 'severity', 'incidents'],
  Incidents: ['started_at', 'resolved_at', 'status', 'severity', 'pattern', 'kind', 'entity', 'tenant', 'score', 'observed', 'expected', 'spend_before_enforcement_usd', 'usual_hours', 'enforced_at', 'action', 'explanation'],
  'Revocation list': ['kind', 'id', 'action', 'source', 'reason', 'since', 'expires_at'],
  'Unpriced models': ['provider', 'model', 'family', 'requests', 'input_tokens', 'output_tokens', 'first_seen', 'last_seen'],
  'Spans received': ['received', 'accepted'],
  'Refused share': ['value'],
  'Spool now': ['value'],
  'Dead events': ['value'],
  'Spans per second': ['time', 'name', 'per_second'],
  'Rejected spans by reason': ['time', 'label', 'per_second'],
  'Spool depth': ['time', 'name', 'value'],
  'Writer queue and spool files': ['time', 'name', 'value'],
  'Writer lag': ['time', 'name', 'value'],
  'Data quality': ['name', 'label', 'count'],
  'Tick duration': ['time', 'instance', 'tick_ms'],
  'Ticks and failures per minute': ['time', 'name', 'per_minute'],
  'Findings by severity': ['time', 'severity', 'findings'],
  'Findings by pattern': ['pattern', 'severity', 'findings'],
  'Entities scored per tick': ['time', 'instance', 'entities'],
  'Alert deliveries by state': ['channel', 'status', 'deliveries', 'attempts'],
  'Revocation list changes': ['time', 'op', 'changes'],
  'variable tenant': ['value', 'text'],
  'variable api_key': ['value', 'text'],
  'variable agent': ['value', 'text'],
  'variable model': ['value', 'text'],
  'variable instance': ['value', 'text'],
  'annotation Incidents': ['time', 'timeEnd', 'text', 'tags'],
  'annotation Revocations and throttles': ['time', 'text', 'tags'],
};

const SELECTIONS: Record<string, Selection> = {
  all: {},
  acme: { tenant: ['acme'] },
  'two keys, one model': { api_key: ['k01', 'k02'], model: ['gpt-4o'] },
  'planner agent': { agent: ['planner'], top_kind: 'agent' },
  'collector c1': { instance: ['c1'] },
};

const num = (v: unknown) => Number(v);
const sumOf = (rows: Record<string, unknown>[], col: string) => rows.reduce((s, r) => s + num(r[col]), 0);
const sumEvents = (events: UsageEvent[], f: (e: UsageEvent) => number) => events.reduce((s, e) => s + f(e), 0);

async function run(uid: string, where: string, selection: Selection = {}) {
  const d = byUid(uid);
  const q = dashboardQueries(d).find((x) => x.where === where);
  if (!q) throw new Error(`dashboard ${uid} has no query "${where}"`);
  return (await runDashboardQuery(ctx.ts.store, q, fx.range, variablesFor(d, selection, {}))).rows;
}

beforeAll(async () => {
  fx = await writeFixture(ctx.ts.store, Date.now());
});

describe('every dashboard query on the real engine', () => {
  const all = dashboards.flatMap(({ dashboard }) => dashboardQueries(dashboard).map((q) => ({ dashboard, q })));

  it('every query has its expected columns listed here', () => {
    expect(all.map(({ q }) => q.where).filter((w) => !COLUMNS[w])).toEqual([]);
  });

  it.each(Object.keys(SELECTIONS))('selection "%s": every query runs and returns its columns', async (name) => {
    for (const { dashboard, q } of all) {
      const { sql, rows } = await runDashboardQuery(ctx.ts.store, q, fx.range, variablesFor(dashboard, SELECTIONS[name]!, {}));
      if (name === 'all') expect(rows.length, `${q.where} returned nothing:\n${sql}`).toBeGreaterThan(0);
      for (const r of rows) expect(Object.keys(r), q.where).toEqual(COLUMNS[q.where]);
    }
  });
});

describe('usage dashboard numbers', () => {
  it('the totals equal the fixture, for "All" and for filters', async () => {
    const cost = (f: (e: UsageEvent) => boolean) => sumEvents(fx.events.filter(f), (e) => e.costUsd);
    expect(num((await run('tollkeeper-usage', 'Spend'))[0]!.value)).toBeCloseTo(cost(() => true), 6);
    expect(num((await run('tollkeeper-usage', 'Spend', SELECTIONS.acme))[0]!.value)).toBeCloseTo(cost((e) => e.tenant === 'acme'), 6);
    expect(num((await run('tollkeeper-usage', 'Spend', SELECTIONS['two keys, one model']))[0]!.value)).toBeCloseTo(cost((e) => ['k01', 'k02'].includes(e.apiKey) && e.model === 'gpt-4o'), 6);
    expect(num((await run('tollkeeper-usage', 'Tokens'))[0]!.value)).toBe(sumEvents(fx.events, (e) => e.inputTokens + e.outputTokens));
    expect(num((await run('tollkeeper-usage', 'LLM requests'))[0]!.value)).toBe(sumEvents(fx.events, (e) => e.requests));
  });

  it('the stacked spend panels add up to the total; the 10 biggest keys are series and the rest is "other"', async () => {
    const total = sumEvents(fx.events, (e) => e.costUsd);
    const byKey = await run('tollkeeper-usage', 'Spend by API key');
    expect(sumOf(byKey, 'spend')).toBeCloseTo(total, 6);
    const series = new Set(byKey.map((r) => r.api_key));
    expect(series.size).toBe(11);
    // The two smallest: k01 ($0.24) and k03 (half of it unpriced, $0.36).
    expect(series.has('other') && !series.has('k01') && !series.has('k03') && series.has('k02') && series.has('k12')).toBe(true);
    expect(sumOf(await run('tollkeeper-usage', 'Spend by model'), 'spend')).toBeCloseTo(total, 6);
    expect(sumOf(await run('tollkeeper-usage', 'Spend by tenant'), 'spend')).toBeCloseTo(sumEvents(fx.events.filter((e) => e.tenant), (e) => e.costUsd), 6);
    const planner = await run('tollkeeper-usage', 'Spend by agent', SELECTIONS['planner agent']);
    expect(new Set(planner.map((r) => r.agent))).toEqual(new Set(['planner']));
    expect(sumOf(planner, 'spend')).toBeCloseTo(sumEvents(fx.events.filter((e) => e.agent === 'planner'), (e) => e.costUsd), 6);
    // A 4–5 h range at ~1000 points rounds to 15–20 s, below the panel's 1-minute minimum: one-minute buckets,
    // and the fixture's events sit on 5-minute steps over 2 hours.
    const times = [...new Set(byKey.map((r) => String(r.time)))];
    expect(times.length).toBe(24);
  });

  it('top spenders by tenant: shares add up to 1, biggest first', async () => {
    const rows = await run('tollkeeper-usage', 'Top spenders', { top_kind: 'tenant' });
    expect(rows.map((r) => r.entity)).toEqual(['globex', 'acme']);
    expect(sumOf(rows, 'share')).toBeCloseTo(1, 9);
    expect(num(rows[0]!.spend)).toBeCloseTo(sumEvents(fx.events.filter((e) => e.tenant === 'globex'), (e) => e.costUsd), 6);
  });

  it('unpriced usage is the fixture\'s unknown model', async () => {
    const unpriced = fx.events.filter((e) => e.costSource === 'unpriced');
    expect(num((await run('tollkeeper-usage', 'Unpriced requests'))[0]!.value)).toBe(sumEvents(unpriced, (e) => e.requests));
    expect(sumOf(await run('tollkeeper-usage', 'Unpriced requests over time'), 'unpriced_requests')).toBe(sumEvents(unpriced, (e) => e.requests));
    const models = await run('tollkeeper-usage', 'Unpriced models');
    expect(models.map((r) => [r.provider, r.model, num(r.requests)])).toEqual([['acme-ai', 'mystery-1', sumEvents(unpriced, (e) => e.requests)]]);
  });

  it('incidents, revocation list and quota utilization', async () => {
    expect(num((await run('tollkeeper-usage', 'Open incidents'))[0]!.value)).toBe(1);
    expect((await run('tollkeeper-usage', 'Incidents')).map((r) => [r.entity, r.status])).toEqual([['k05', 'open'], ['k08', 'resolved']]);
    expect((await run('tollkeeper-usage', 'Incidents', SELECTIONS.acme)).map((r) => r.entity)).toEqual(['k05']);
    // k09's throttle expired a minute ago and k07 was restored: k05 and tenant globex are listed.
    const list = await run('tollkeeper-usage', 'Revocation list');
    expect(list.map((r) => [r.kind, r.id, r.action, r.source])).toEqual([['tenant', 'globex', 'revoke', 'manual'], ['api_key', 'k05', 'revoke', 'anomaly']]);
    expect(num((await run('tollkeeper-usage', 'Revoked or throttled'))[0]!.value)).toBe(2);
    const quotas = await run('tollkeeper-usage', 'Quota utilization reached');
    expect(quotas.map((r) => [r.quota, num(r.utilization)])).toEqual([['tenant acme · monthly · 2026-12', 1], ['api_key k01 · daily-spend · 2026-12-03', 0.8]]);
    const notes = await run('tollkeeper-usage', 'annotation Incidents');
    expect(notes.map((r) => r.tags)).toEqual([['warning', 'spike', 'api_key'], ['critical', 'spike', 'api_key']]);
    expect((await run('tollkeeper-usage', 'annotation Revocations and throttles')).length).toBe(4);
  });
});

describe('usage dashboard over a long range: the hourly rollup', () => {
  // Three days ending where the fixture's range ends: over two days, so every rollup panel reads usage_hour.
  const long = () => ({ fromMs: fx.range.toMs - 3 * 86_400_000, toMs: fx.range.toMs });
  async function both(where: string, selection: Selection = {}) {
    const d = byUid('tollkeeper-usage');
    const q = dashboardQueries(d).find((x) => x.where === where)!;
    const vars = variablesFor(d, selection, {});
    return { short: (await runDashboardQuery(ctx.ts.store, q, fx.range, vars)).rows, long: (await runDashboardQuery(ctx.ts.store, q, long(), vars)).rows };
  }
  const isHourBucket = (t: unknown) => new Date(String(t).replace(' ', 'T') + 'Z').getTime() % 3_600_000 === 0;

  it('usage_hour holds what usage_minute holds, kind by kind, and its model rows what the raw events hold', async () => {
    const s = ctx.ts.store;
    const per = async (table: string, col: string) =>
      await s.query<{ kind: string; events: string; requests: string; tokens: string; cost: number; unpriced: string }>(
        `SELECT kind, sum(events) AS events, sum(requests) AS requests, sum(input_tokens + output_tokens) AS tokens, round(sum(cost_usd), 9) AS cost, sum(unpriced_requests) AS unpriced
         FROM ${s.table(table)} WHERE kind != 'model' GROUP BY kind, toStartOfHour(${col}) AS h ORDER BY kind, h`,
      );
    expect(await per('usage_hour', 'hour')).toEqual(await per('usage_minute', 'minute'));
    const models = await s.query<{ entity: string; requests: string }>(`SELECT entity, sum(requests) AS requests FROM ${s.table('usage_hour')} WHERE kind = 'model' GROUP BY entity ORDER BY entity`);
    const expected = new Map<string, number>();
    for (const e of fx.events.filter((x) => x.model)) expected.set(e.model, (expected.get(e.model) ?? 0) + e.requests);
    expect(models.map((r) => [r.entity, num(r.requests)])).toEqual([...expected].sort(([a], [b]) => (a < b ? -1 : 1)));
  });

  it('the totals equal the per-minute path and the fixture', async () => {
    for (const [where, expected] of [
      ['Spend', sumEvents(fx.events, (e) => e.costUsd)],
      ['Tokens', sumEvents(fx.events, (e) => e.inputTokens + e.outputTokens)],
      ['LLM requests', sumEvents(fx.events, (e) => e.requests)],
      ['Unpriced requests', sumEvents(fx.events.filter((e) => e.costSource === 'unpriced'), (e) => e.requests)],
    ] as const) {
      const { short, long: l } = await both(where);
      expect(num(l[0]!.value), where).toBeCloseTo(num(short[0]!.value), 6);
      expect(num(l[0]!.value), where).toBeCloseTo(expected, 6);
    }
    const acme = await both('Spend', SELECTIONS.acme);
    expect(num(acme.long[0]!.value)).toBeCloseTo(num(acme.short[0]!.value), 6);
  });

  it('the stacked panels sum to the per-minute path in hourly buckets (the minute path would bucket by 5 minutes)', async () => {
    for (const where of ['Spend by API key', 'Spend by tenant', 'Spend by agent', 'Spend by model', 'Tokens by API key', 'Tokens by tenant', 'Tokens by agent', 'Tokens by model']) {
      const col = where.startsWith('Spend') ? 'spend' : 'tokens';
      const { short, long: l } = await both(where);
      expect(sumOf(l, col), where).toBeCloseTo(sumOf(short, col), 6);
      expect(l.every((r) => isHourBucket(r.time)), where).toBe(true);
      expect(new Set(l.map((r) => String(r.time))).size, where).toBeLessThan(new Set(short.map((r) => String(r.time))).size);
    }
    const planner = await both('Spend by agent', SELECTIONS['planner agent']);
    expect(sumOf(planner.long, 'spend')).toBeCloseTo(sumOf(planner.short, 'spend'), 6);
    const oneModel = await both('Spend by model', { tenant: ['acme'], model: ['gpt-4o'] });
    expect(oneModel.long.every((r) => r.model === 'gpt-4o')).toBe(true);
    expect(sumOf(oneModel.long, 'spend')).toBeCloseTo(sumOf(oneModel.short, 'spend'), 6);
  });

  it('top spenders and the variables list the same entities as the per-minute path', async () => {
    const top = await both('Top spenders', { top_kind: 'api_key' });
    expect(top.long.map((r) => [r.entity, r.tenants, num(r.requests)])).toEqual(top.short.map((r) => [r.entity, r.tenants, num(r.requests)]));
    for (const v of ['variable tenant', 'variable api_key', 'variable agent', 'variable model']) {
      const { short, long: l } = await both(v);
      expect(l, v).toEqual(short);
    }
  });
});

describe('health dashboard numbers', () => {
  it('spans per second integrate back to the spans received; a collector filter keeps only its rows', async () => {
    const rows = await run('tollkeeper-health', 'Spans per second');
    const received = rows.filter((r) => r.name === 'spans_received');
    // A 4–5 h range: 20 s buckets at most (the panel's minimum is 10 s); per_second × bucket is the bucket's count.
    const bucketS = grafanaIntervalMs(fx.range.toMs - fx.range.fromMs, 10_000) / 1000;
    expect(sumOf(received, 'per_second') * bucketS).toBeCloseTo(fx.spansReceived.c1! + fx.spansReceived.c2!, 6);
    const c1 = await run('tollkeeper-health', 'Spans received', SELECTIONS['collector c1']);
    expect(num(c1[0]!.received)).toBe(fx.spansReceived.c1);
    expect(num((await run('tollkeeper-health', 'Refused share'))[0]!.value)).toBeCloseTo(8 / 150, 9);
    expect(num((await run('tollkeeper-health', 'Spool now'))[0]!.value)).toBe(4096);
    const lag = await run('tollkeeper-health', 'Writer lag');
    expect(Math.max(...lag.map((r) => num(r.value)))).toBe(250);
  });

  it('findings by severity and pattern match what the detector wrote', async () => {
    const bySeverity = await run('tollkeeper-health', 'Findings by pattern');
    expect(Object.fromEntries(bySeverity.map((r) => [`${String(r.pattern)}/${String(r.severity)}`, num(r.findings)]))).toEqual(fx.findings);
    const ticks = await run('tollkeeper-health', 'Ticks and failures per minute');
    const bucketMinutes = grafanaIntervalMs(fx.range.toMs - fx.range.fromMs, 10_000) / 60_000;
    expect(sumOf(ticks.filter((r) => r.name === 'tick_failures'), 'per_minute') * bucketMinutes).toBeCloseTo(1, 9);
    expect(sumOf(ticks.filter((r) => r.name === 'ticks'), 'per_minute') * bucketMinutes).toBeCloseTo(360 * 10, 6);
    const scored = await run('tollkeeper-health', 'Entities scored per tick');
    expect(new Set(scored.map((r) => num(r.entities)))).toEqual(new Set([50]));
  });

  it('alert deliveries show each delivery once in its newest state; revocation list changes count the log', async () => {
    const deliveries = await run('tollkeeper-health', 'Alert deliveries by state');
    expect(deliveries.map((r) => [r.channel, r.status, num(r.deliveries), num(r.attempts)])).toEqual([
      ['email', 'dead', 1, 5],
      ['webhook', 'delivered', 1, 1],
      ['webhook', 'failed', 1, 2],
    ]);
    const changes = await run('tollkeeper-health', 'Revocation list changes');
    expect({ upsert: sumOf(changes.filter((r) => r.op === 'upsert'), 'changes'), remove: sumOf(changes.filter((r) => r.op === 'remove'), 'changes') }).toEqual({ upsert: 4, remove: 1 });
  });
});
