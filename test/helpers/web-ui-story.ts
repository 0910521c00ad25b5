// The web UI browser test's story: its config, its keys' week of ordinary traffic, and the ingest and admin API
// calls it checks the page against.
import { expect } from 'vitest';
import { api as adminApi } from './admin-api.ts';
import type { TestApp } from './app.ts';
import { chatSpan, exportJson, type TestSpan } from './otlp-bodies.ts';

const HOUR = 3_600_000;

// Anomaly detection watches only spend here (token and request floors out of reach), so the key that exceeds its
// token quota is revoked by the quota alone and stays restored once an operator restores it.
export const WEB_UI_YAML = `
detector: { interval: 500ms }
anomaly:
  scopes: [api_key, tenant]
  floors: { cost_usd_per_minute: 0.05, tokens_per_minute: 100000000, requests_per_minute: 100000 }
  actions: { warning: alert, critical: revoke }
policies:
  - name: daily-tokens
    scope: api_key
    period: { calendar: day, timezone: UTC }
    limits: { tokens: 1000000 }
    action: revoke
`;

const KEYS = [
  { key: 'k-1', tenant: 'acme', agent: 'planner' },
  { key: 'k-2', tenant: 'acme', agent: 'support-bot' },
  { key: 'k-3', tenant: 'acme', agent: 'planner' },
  { key: 'k-4', tenant: 'globex', agent: 'support-bot' },
  { key: 'k-5', tenant: 'globex', agent: 'researcher' },
  { key: 'k-6', tenant: 'globex', agent: 'researcher' },
];

/** Sends spans to the app's collector (in bodies of 1,000) and the admin API's answers as JSON, for the app `app()` returns. */
export function webUiClient(app: () => TestApp) {
  async function send(spans: readonly TestSpan[], resource: Record<string, unknown> = { 'service.name': 'chat-api' }): Promise<void> {
    for (let i = 0; i < spans.length; i += 1000) {
      const res = await fetch(`${app().otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: exportJson(spans.slice(i, i + 1000), resource) });
      const body = (await res.json()) as { partialSuccess?: { rejectedSpans?: number; errorMessage?: string } };
      expect(res.status).toBe(200);
      expect(body.partialSuccess?.rejectedSpans ?? 0, body.partialSuccess?.errorMessage).toBe(0);
    }
  }

  /** The admin API's answer as JSON. */
  async function api<T = any>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    return (await adminApi(app(), init.method ?? 'GET', path, init.body)).body as T;
  }
  return { send, api };
}

/** A week of ordinary traffic through the collector: each key about $0.08 and 14k tokens an hour. */
export function backfill(now: number): TestSpan[] {
  const spans: TestSpan[] = [];
  for (const k of KEYS) {
    for (let h = 7 * 24; h >= 1; h--) {
      for (let i = 0; i < 4; i++) {
        spans.push({
          ...chatSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 3000, 'gen_ai.usage.output_tokens': 500, 'gen_ai.usage.cost': 0.02, 'tollkeeper.api_key.id': k.key, 'tenant.id': k.tenant, 'gen_ai.agent.name': k.agent }),
          endMs: now - h * HOUR + i * 900_000,
        });
      }
    }
  }
  return spans;
}
