// Every route in /openapi.json is documented somewhere in README.md or docs/, and every route the docs name exists:
// the API port's in its OpenAPI document, the OTLP port's and the gateway listener's in their own route tables.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const pages = ['README.md', ...readdirSync(join(ROOT, 'docs'), { recursive: true }).map((f) => `docs/${String(f)}`).filter((f) => f.endsWith('.md'))];
const text = pages.map((p) => readFileSync(join(ROOT, p), 'utf8')).join('\n');

/** `/a/{id}/b`, `/a/:id/b` and `/a/<id>/b` all as `/a/:/b`, so the docs may name parameters as they like. */
const shape = (path: string) => path.replace(/\{[^}]*\}|:[A-Za-z_]\w*|<[^>]*>/g, ':').replace(/\/$/, '');

let t: TestApp;
let apiPaths: Map<string, Set<string>>;
beforeAll(async () => {
  t = await startApp({ startLoop: false });
  const doc = (await (await fetch(`${t.apiUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  apiPaths = new Map(Object.entries(doc.paths).map(([p, ops]) => [shape(p), new Set(Object.keys(ops).map((m) => m.toUpperCase()))]));
});
afterAll(async () => {
  await t.close({ cleanup: true });
});

// Served beside the API document: the OTLP port (collector), the gateway listener, and the document itself.
/** Every `METHOD /path` the docs name (`GET|POST /v1/authorize` and `GET/PUT /a` name two). */
const named = new Set<string>();
for (const m of text.matchAll(/\b((?:GET|POST|PUT|PATCH|DELETE)(?:[|/](?:GET|POST|PUT|PATCH|DELETE))*) (\/[A-Za-z0-9_/:{}<>.-]*[A-Za-z0-9_}>])/g)) {
  for (const method of m[1]!.split(/[|/]/)) named.add(`${method} ${m[2]!}`);
}

const OTHER_PORTS = new Set(['/v1/traces', '/v1/metrics', '/v1/logs', '/openapi.json', '/docs']);

describe('the docs and /openapi.json agree', () => {
  it('documents every route of the API description', () => {
    const documented = shape(text.replace(/\{[^}\s]*\}|:[A-Za-z_]\w*|<[^>\s]*>/g, ':'));
    const missing = [...apiPaths.keys()].filter((p) => p !== '' && !new RegExp(`${p.replace(/[.*+?^$()|[\]\\]/g, '\\$&')}(?![\\w/-])`).test(documented));
    expect(missing).toEqual([]);
  });

  it('names every method of every route of the API description', () => {
    const shapes = new Set([...named].map((n) => { const [m, p] = n.split(' ') as [string, string]; return `${m} ${shape(p)}`; }));
    // Forward-auth answers whatever method the gateway forwards; the docs say so once rather than per method.
    const anyMethod = (n: string) => /^[A-Z]+ \/v1\/authorize(\/:)?$/.test(n);
    expect(text).toContain('Any method is accepted, on `/v1/authorize`');
    // The web UI's files and its page at / are the web UI's, described in docs/web-ui.md.
    const unnamed = [...apiPaths].flatMap(([p, methods]) => [...methods].map((m) => `${m} ${p}`)).filter((n) => !shapes.has(n) && !anyMethod(n) && !n.startsWith('GET /ui/') && n !== 'GET ');
    expect(unnamed).toEqual([]);
  });

  it('every route the docs name exists, with that method', () => {
    expect(named.size).toBeGreaterThan(30);
    const unknown = [...named].filter((n) => {
      const [method, path] = n.split(' ') as [string, string];
      if (OTHER_PORTS.has(path)) return false;
      return !apiPaths.get(shape(path))?.has(method);
    });
    expect(unknown).toEqual([]);
  });
});
