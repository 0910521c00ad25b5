// Writes the dashboard JSON files Grafana provisions: `npm run dashboards`. Edit the TypeScript, not the JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS, render } from './index.ts';

const OUT = fileURLToPath(new URL('../dashboards/', import.meta.url));
mkdirSync(OUT, { recursive: true });
for (const [file, d] of Object.entries(DASHBOARDS)) {
  writeFileSync(OUT + file, render(d));
  process.stdout.write(`wrote dashboards/grafana/dashboards/${file} (${d.panels?.length ?? 0} panels)\n`);
}
