import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteInfo } from '../../api/index.ts';
import { startApp, type TestApp } from '../helpers/app.ts';

// The API description is generated from the route schemas: every route registered on the API port (also the
// ones added later) must be in it with each response it declares, and the document must be valid OpenAPI.
let t: TestApp;
let doc: { openapi: string; paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }>; security?: unknown[] }>> };
let routes: RouteInfo[];
beforeAll(async () => {
  t = await startApp({ startLoop: false });
  routes = t.app.api!.routeTable.filter((r) => r.method !== 'HEAD' && !r.schema?.hide);
  const res = await fetch(`${t.apiUrl}/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as typeof doc;
});
afterAll(async () => {
  await t.close({ cleanup: true });
});

/** fastify's `/a/:id/*` as an OpenAPI path. */
function openapiPath(url: string): string {
  return url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{*}');
}

describe('OpenAPI document at /openapi.json', () => {
  it('is valid OpenAPI 3.1, served without a token', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toMatch(/^3\.1\./);
  });

  it('describes every registered route with every response it declares', () => {
    expect(routes.length).toBeGreaterThanOrEqual(17);
    for (const r of routes) {
      const op = doc.paths[openapiPath(r.url)]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.url} missing from the document`).toBeDefined();
      const declared = Object.keys((r.schema?.response ?? {}));
      expect(declared.length, `${r.method} ${r.url} declares no response`).toBeGreaterThan(0);
      for (const status of declared) {
        const response = op!.responses[status];
        expect(response, `${r.method} ${r.url} ${status}`).toBeDefined();
        if (status !== '304') expect(response!.content?.['application/json']?.schema, `${r.method} ${r.url} ${status} has no schema`).toBeDefined();
      }
      expect(op!.security, `${r.method} ${r.url} security`).toEqual(r.auth === 'public' ? [] : [{ bearer: [] }]);
    }
  });

  it('documents the policy body with the schema the config file uses', () => {
    const body = (doc.paths['/api/policies']!.post as unknown as { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } }).requestBody;
    expect(Object.keys(body.content['application/json']!.schema.properties)).toEqual(['name', 'scope', 'match', 'period', 'limits', 'thresholds', 'action']);
  });
});

describe('reference page at /docs', () => {
  it('serves Swagger UI and all its assets from this server, without a token', async () => {
    const page = await fetch(`${t.apiUrl}/docs/`, { redirect: 'follow' });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('swagger-ui');
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(0);
    for (const a of assets) {
      expect(a, 'an asset from another host').not.toMatch(/^(https?:)?\/\//);
      const res = await fetch(new URL(a, `${t.apiUrl}/docs/`));
      expect(res.status, a).toBe(200);
    }
    const init = await (await fetch(`${t.apiUrl}/docs/static/swagger-initializer.js`)).text();
    expect(init).toContain('/openapi.json');
  });
});
