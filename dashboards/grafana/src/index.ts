import type { Dashboard } from '@grafana/schema';
import { healthDashboard } from './health.ts';
import { usageDashboard } from './usage.ts';

/** Every provisioned dashboard, by the file name Grafana loads it from (dashboards/grafana/dashboards/). */
export const DASHBOARDS: Record<string, Dashboard> = {
  'tollkeeper-usage.json': usageDashboard,
  'tollkeeper-health.json': healthDashboard,
};

/** The exact text of a dashboard file (stable, so the test can compare the committed file with the source). */
export function render(d: Dashboard): string {
  return JSON.stringify(d, null, 2) + '\n';
}
