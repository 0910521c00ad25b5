// Secret-bearing attributes and the bearer secret a gateway forwards must never appear raw: not in stored rows,
// not in OTLP answers, not in any log line. And an id with CR/LF cannot forge a log line: every line is one JSON
// record.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../app/logger.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { HOSTILE } from '../helpers/hostile-ids.ts';
import { chatSpan, exportJson } from '../helpers/otlp-bodies.ts';
import { waitFor } from '../helpers/wait.ts';

const SECRET = 'sk-live-0123456789abcdefSECRET';
const lines: string[] = [];
let t: TestApp;

const YAML = `
detector: { interval: 500ms }
identity:
  api_key: [api_key.secret, tollkeeper.api_key.id]
  secret_attributes: [api_key.secret]
`;

async function send(spans: ReturnType<typeof chatSpan>[], resource: Record<string, unknown> = { 'service.name': 'svc' }) {
  const res = await fetch(`${t.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: exportJson(spans, resource) });
  return { status: res.status, text: await res.text() };
}

beforeAll(async () => {
  let partial = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const all = partial + chunk.toString('utf8');
      const parts = all.split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
      done();
    },
  });
  t = await startApp({ yaml: YAML, logger: createLogger('debug', sink) });
});

afterAll(async () => {
  await t?.close({ cleanup: true });
});

describe('secrets and log lines', () => {
  it('a secret attribute is stored only as its keyed hash, wherever the span carries it', async () => {
    const model = { 'gen_ai.request.model': 'mystery-model-x', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5 };
    const answers = [
      await send([chatSpan({ ...model, 'api_key.secret': SECRET })]),
      await send([chatSpan({ ...model, 'ai.telemetry.metadata.api_key.secret': SECRET })]),
      await send([chatSpan({ ...model, 'traceloop.association.properties.api_key.secret': SECRET })]),
      await send([chatSpan(model)], { 'service.name': 'svc', 'api_key.secret': SECRET }),
      // Too long to be an id: refused, and the refusal must not quote it.
      await send([chatSpan({ ...model, 'api_key.secret': SECRET + 'x'.repeat(1000) })]),
      await send([chatSpan({ ...model, 'tollkeeper.api_key.id': HOSTILE.crlf })]),
    ];
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.text).not.toContain(SECRET);
    }
    const rows = await waitFor(async () => {
      const r = await t.app.store.query<Record<string, unknown>>(`SELECT * FROM ${t.app.store.table('usage_events')}`);
      return r.length === 5 ? r : undefined;
    }, { what: 'five stored events' });
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(SECRET);
    expect(dump).not.toContain('0123456789abcdef');
    const keys = new Set(rows.map((r) => String(r.api_key)));
    // The four spans carrying the secret are one key (its hash), plus the CR/LF id.
    expect(keys.size).toBe(2);
    expect(keys.has(HOSTILE.crlf)).toBe(true);
  });

  it('forward-auth with the secret as bearer does not log it', async () => {
    const res = await fetch(`${t.gatewayUrl}/v1/authorize`, { headers: { 'x-tollkeeper-gateway-token': t.gatewayToken, authorization: `Bearer ${SECRET}` } });
    expect(res.status).toBe(200);
    expect(JSON.stringify([...res.headers])).not.toContain(SECRET);
    expect(await res.text()).not.toContain(SECRET);
  });

  it('every log line is one JSON record, none holds a secret, and the CR/LF id stayed inside its record', async () => {
    // The unknown model is warned about once; that line names the model, and the events went through the writer.
    await waitFor(() => lines.some((l) => l.includes('mystery-model-x')), { what: 'the unpriced-model warning' });
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      expect(() => JSON.parse(l) as unknown, l).not.toThrow();
      expect(l).not.toContain(SECRET);
      expect(l).not.toContain(t.adminToken);
      expect(l).not.toContain(t.gatewayToken);
    }
    expect(lines.some((l) => /^X-Injected/.test(l) || l.startsWith('<b>'))).toBe(false);
  });
});
