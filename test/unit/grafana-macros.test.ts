import { describe, expect, it } from 'vitest';
import { ALL, expandGrafanaSql, grafanaIntervalMs, type ExpandContext } from '../helpers/grafana-macros.ts';

// The plugin's own expectations (pkg/macros/macros_test.go): 2014-11-12T11:45:26.123Z to 2015-11-12T11:45:26.456Z.
const ctx: ExpandContext = { fromMs: Date.parse('2014-11-12T11:45:26.123Z'), toMs: Date.parse('2015-11-12T11:45:26.456Z'), intervalMs: 60_000, variables: {} };

describe('Grafana macro expansion (as grafana-clickhouse-datasource does it)', () => {
  it.each([
    ['select * from foo where $__timeFilter(cast(sth as timestamp) )', 'select * from foo where cast(sth as timestamp) >= toDateTime(1415792726) AND cast(sth as timestamp) <= toDateTime(1447328726)'],
    ['select * from foo where $__timeFilter_ms(cast(sth as timestamp))', 'select * from foo where cast(sth as timestamp) >= fromUnixTimestamp64Milli(1415792726123) AND cast(sth as timestamp) <= fromUnixTimestamp64Milli(1447328726456)'],
    ['select * from foo where ( date >= $__fromTime and date <= $__toTime ) limit 100', 'select * from foo where ( date >= toDateTime(1415792726) and date <= toDateTime(1447328726) ) limit 100'],
    ['where d >= $__fromTime_ms and d <= $__toTime_ms', 'where d >= fromUnixTimestamp64Milli(1415792726123) and d <= fromUnixTimestamp64Milli(1447328726456)'],
    ['select $__timeInterval(t) as time, sum(v) / $__interval_s', 'select toStartOfInterval(toDateTime(t), INTERVAL 60 second) as time, sum(v) / 60'],
    ['where $__dateFilter(d)', "where d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')"],
  ])('%s', (raw, want) => {
    expect(expandGrafanaSql(raw, ctx)).toBe(want);
  });

  const variables = {
    tenant: { current: [ALL], options: ['acme', "o'hare"], multi: true },
    key: { current: ['k1', 'k2'], options: ['k1', 'k2', 'k3'], multi: true },
    one: { current: ['k3'], options: ['k1', 'k2', 'k3'], multi: true },
    kind: { current: 'api_key', options: ['api_key', 'tenant'] },
  };

  it('$__conditionalAll becomes 1=1 on "All" and the condition otherwise; values are quoted like the plugin does', () => {
    const raw = 'WHERE $__conditionalAll(tenant IN (${tenant:singlequote}), $tenant) AND $__conditionalAll(key IN (${key:singlequote}), $key) AND k IN ($one) AND kind = \'${kind}\'';
    expect(expandGrafanaSql(raw, { ...ctx, variables })).toBe("WHERE 1=1 AND key IN ('k1','k2') AND k IN ('k3') AND kind = 'api_key'");
  });

  it('"All" without $__conditionalAll lists every option, quotes escaped', () => {
    expect(expandGrafanaSql('t IN (${tenant:singlequote})', { ...ctx, variables })).toBe("t IN ('acme','o\\'hare')");
  });

  it('an unknown macro is an error, not SQL sent on', () => {
    expect(() => expandGrafanaSql('where $__timeFiltr(t)', ctx)).toThrow(/timeFiltr/);
  });

  it('the bucket follows Grafana: range over data points, rounded, never below the panel minimum', () => {
    expect(grafanaIntervalMs(24 * 3_600_000, 60_000)).toBe(60_000);
    expect(grafanaIntervalMs(30 * 86_400_000, 60_000)).toBe(1_800_000);
    expect(grafanaIntervalMs(3_600_000, 10_000)).toBe(10_000);
  });
});
