// The SQL a provisioned dashboard sends: every panel target, variable query and annotation query, read from the
// JSON files Grafana loads, ready to expand (grafana-macros.ts) and run against the store.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Dashboard, Panel, RowPanel } from '@grafana/schema';
import type { ClickHouse } from '../../store/port.ts';
import { ALL, expandGrafanaSql, grafanaIntervalMs, type Variable } from './grafana-macros.ts';

export const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboards/grafana/dashboards/', import.meta.url));

export interface DashboardQuery {
  dashboard: string;
  /** Panel title, `variable <name>` or `annotation <name>`. */
  where: string;
  rawSql: string;
  /** 0 time series, 1 table (the plugin's format). */
  format: number;
  /** The panel's minimum bucket, e.g. 60 000 for "1m". */
  minIntervalMs: number;
}

export function loadDashboards(): { file: string; dashboard: Dashboard }[] {
  return readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(DASHBOARD_DIR + file, 'utf8')) as Dashboard }));
}

function durationMs(s: string | undefined): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(s ?? '');
  if (!m) return 1;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
}

export function isPanel(p: Panel | RowPanel): p is Panel {
  return p.type !== 'row';
}

/** Every query of a dashboard, panels first. */
export function dashboardQueries(d: Dashboard): DashboardQuery[] {
  const uid = d.uid ?? d.title ?? '';
  const out: DashboardQuery[] = [];
  for (const p of (d.panels ?? []).filter(isPanel)) {
    for (const t of p.targets ?? []) {
      out.push({ dashboard: uid, where: p.title ?? '', rawSql: String(t.rawSql), format: Number(t.format), minIntervalMs: durationMs(p.interval) });
    }
  }
  for (const v of d.templating?.list ?? []) {
    if (v.type === 'query') out.push({ dashboard: uid, where: `variable ${v.name}`, rawSql: typeof v.query === 'string' ? v.query : JSON.stringify(v.query), format: 1, minIntervalMs: 1 });
  }
  for (const a of d.annotations?.list ?? []) {
    const t = a.target as unknown as { rawSql?: string } | undefined;
    if (t?.rawSql) out.push({ dashboard: uid, where: `annotation ${a.name}`, rawSql: t.rawSql, format: 1, minIntervalMs: 1 });
  }
  return out;
}

/** The dashboards' tables, unqualified in the JSON (the datasource's default database), qualified for one test store. */
const TABLES = ['usage_events', 'usage_minute', 'usage_hour', 'incidents', 'enforcement_log', 'quota_firings', 'ingest_stats', 'detector_stats', 'policies', 'alert_outbox'];

export function qualifyTables(sql: string, store: ClickHouse): string {
  return sql.replace(new RegExp(`\\b(FROM|JOIN)\\s+(${TABLES.join('|')})\\b`, 'g'), (_m, kw: string, t: string) => `${kw} ${store.table(t)}`);
}

/** A selection of the dashboard variables by the text shown (ids, not their hex values): names missing here are on "All". */
export type Selection = Record<string, string | string[]>;

export function variablesFor(d: Dashboard, selection: Selection, options: Record<string, string[]>): Record<string, Variable> {
  const out: Record<string, Variable> = {};
  for (const v of d.templating?.list ?? []) {
    const picked = selection[v.name];
    if (v.type === 'custom') {
      const first = v.options?.[0]?.value;
      out[v.name] = { current: picked ?? (typeof first === 'string' ? first : ''), options: (v.options ?? []).map((o) => String(o.value)) };
    } else {
      // A query variable's options carry the id in hex as their value (what Grafana splices into the SQL).
      const hex = (x: string) => Buffer.from(x, 'utf8').toString('hex').toUpperCase();
      const value = picked === undefined ? [ALL] : (Array.isArray(picked) ? picked : [picked]).map(hex);
      out[v.name] = { current: value, options: (options[v.name] ?? []).map(hex), multi: v.multi ?? false };
    }
  }
  return out;
}

/** Runs one dashboard query as the plugin would send it for the range and selection; rows as plain objects. */
export async function runDashboardQuery(
  store: ClickHouse,
  q: DashboardQuery,
  range: { fromMs: number; toMs: number },
  variables: Record<string, Variable>,
): Promise<{ sql: string; rows: Record<string, unknown>[] }> {
  const intervalMs = grafanaIntervalMs(range.toMs - range.fromMs, q.minIntervalMs);
  const sql = qualifyTables(expandGrafanaSql(q.rawSql, { ...range, intervalMs, variables }), store);
  return { sql, rows: await store.query<Record<string, unknown>>(sql, undefined, { tag: `dashboard ${q.dashboard}: ${q.where}` }) };
}
