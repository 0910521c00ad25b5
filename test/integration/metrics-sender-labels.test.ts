// Model names come from spans: a sender inventing one per span must not add a series per name to /metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SENDER_LABELS, OTHER_LABEL } from '../../app/metrics.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { chatSpan, exportJson } from '../helpers/otlp-bodies.ts';
import { parseExposition } from '../helpers/prometheus.ts';
import { waitFor } from '../helpers/wait.ts';

const MODELS = 300;
let t: TestApp;
beforeAll(async () => {
  t = await startApp({ startLoop: false });
});
afterAll(async () => {
  await t?.close({ cleanup: true });
});

async function scrape() {
  const res = await fetch(`${t.apiUrl}/metrics`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  return parseExposition(await res.text());
}

describe('metrics labelled by sender text', () => {
  it(`keeps at most ${MAX_SENDER_LABELS} model series plus ${OTHER_LABEL}, and counts every event`, async () => {
    const spans = Array.from({ length: MODELS }, (_, i) => chatSpan({ 'gen_ai.request.model': `made-up-${i}-"\\\n}`, 'gen_ai.usage.input_tokens': 10, 'api_key.id': 'k-1' }));
    const res = await fetch(`${t.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: exportJson(spans) });
    expect(res.status).toBe(200);
    const m = await waitFor(async () => {
      const e = await scrape();
      return e.sum('tollkeeper_ingest_unpriced_events_total') >= MODELS ? e : undefined;
    }, { what: `${MODELS} unpriced events in /metrics` });
    const series = [...m.samples.keys()].filter((k) => k.startsWith('tollkeeper_ingest_unpriced_events_total{'));
    expect(series.length).toBe(MAX_SENDER_LABELS + 1);
    expect(m.sum('tollkeeper_ingest_unpriced_events_total')).toBe(MODELS);
    expect(m.sum('tollkeeper_ingest_unpriced_events_total', { model: OTHER_LABEL })).toBe(MODELS - MAX_SENDER_LABELS);
  });
});
