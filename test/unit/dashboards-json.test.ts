// The provisioned Grafana dashboards as files: what the typed source renders, a grid without overlaps, the
// provisioned datasource on every target, and no undefined variable. Their queries on the real engine:
// test/integration/dashboards.test.ts.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DASHBOARDS, render } from '../../dashboards/grafana/src/index.ts';
import { DASHBOARD_DIR, dashboardQueries, isPanel, loadDashboards } from '../helpers/dashboard-queries.ts';

const dashboards = loadDashboards();

describe('dashboard JSON', () => {
  it('the committed files are exactly what the typed source renders (npm run dashboards)', () => {
    expect(dashboards.map((d) => d.file).sort()).toEqual(Object.keys(DASHBOARDS).sort());
    for (const [file, d] of Object.entries(DASHBOARDS)) expect(readFileSync(DASHBOARD_DIR + file, 'utf8'), file).toBe(render(d));
  });

  it('panels fit the 24-column grid without overlapping, ids and titles are unique, every target uses the provisioned datasource', () => {
    const provisioned = parse(readFileSync(new URL('../../dashboards/grafana/provisioning/datasources/clickhouse.yaml', import.meta.url), 'utf8')) as { datasources: { uid: string; type: string }[] };
    const ds = provisioned.datasources[0]!;
    for (const { file, dashboard } of dashboards) {
      const panels = dashboard.panels ?? [];
      expect(new Set(panels.map((p) => p.id)).size, file).toBe(panels.length);
      const titled = panels.filter(isPanel);
      expect(new Set(titled.map((p) => p.title)).size, file).toBe(titled.length);
      const cells = new Set<string>();
      for (const p of panels) {
        const g = p.gridPos!;
        expect(g.x + g.w, `${file}: ${p.title}`).toBeLessThanOrEqual(24);
        for (let x = g.x; x < g.x + g.w; x++) {
          for (let y = g.y; y < g.y + g.h; y++) {
            expect(cells.has(`${x},${y}`), `${file}: ${p.title} overlaps at ${x},${y}`).toBe(false);
            cells.add(`${x},${y}`);
          }
        }
      }
      for (const p of titled) {
        expect(p.targets?.length, `${file}: ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets ?? []) expect(t.datasource, `${file}: ${p.title}`).toEqual({ type: ds.type, uid: ds.uid });
      }
    }
  });

  it('every variable a query uses is defined on its dashboard', () => {
    for (const { file, dashboard } of dashboards) {
      const defined = new Set((dashboard.templating?.list ?? []).map((v) => v.name));
      for (const q of dashboardQueries(dashboard)) {
        for (const m of q.rawSql.matchAll(/\$\{(\w+)[^}]*\}|\$(?!__)(\w+)/g)) expect(defined.has(m[1] ?? m[2]!), `${file}: ${q.where} uses ${m[0]}`).toBe(true);
      }
    }
  });
});
