import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../core/config/load.ts';

function load(yaml: string, env: Record<string, string> = {}, flags = {}) {
  return loadConfig({ fileText: yaml, source: 'tk.yaml', env, flags });
}

describe('config', () => {
  it('runs with no file at all, on the documented defaults', () => {
    const r = loadConfig({ source: '(defaults)', env: {}, flags: {} });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.server).toEqual({ host: '127.0.0.1', otlp_port: 4318, api_port: 8080, timeouts: { headers: 10_000, request: 30_000, idle: 65_000, socket: 120_000, replay: 100_000 } });
    expect(r.config.detector).toEqual({ interval: 2000, shadow: false });
    expect(r.config.dataDir).toBe('./data');
    expect(r.config.store.clickhouse).toBeUndefined();
  });

  it('takes listener timeouts and a connection cap, and refuses timeouts that cannot work', () => {
    const r = loadConfig({ source: 't.yaml', fileText: 'server: { timeouts: { headers: 5s, request: 1m }, max_connections: 1000 }', env: {}, flags: {} });
    expect(r.ok && r.config.server).toMatchObject({ timeouts: { headers: 5000, request: 60_000, idle: 65_000, socket: 120_000 }, max_connections: 1000 });
    const bad = loadConfig({ source: 't.yaml', fileText: 'server: { timeouts: { headers: 1m, request: 10s, socket: 30s } }', env: {}, flags: {} });
    expect(bad.ok ? [] : bad.errors.join('\n')).toMatch(/server\.timeouts: headers must be more than 0 and at most request/);
    expect(bad.ok ? [] : bad.errors.join('\n')).toMatch(/server\.timeouts: socket must be 0 \(off\) or more than 60s/);
    // A replay answered after its socket was closed is never read.
    const late = loadConfig({ source: 't.yaml', fileText: 'server: { timeouts: { socket: 90s, replay: 90s } }', env: {}, flags: {} });
    expect(late.ok ? [] : late.errors.join('\n')).toMatch(/server\.timeouts: replay must be at least 1s and, when socket is on, less than socket/);
    const off = loadConfig({ source: 't.yaml', fileText: 'server: { timeouts: { socket: 0s, replay: 10m } }', env: {}, flags: {} });
    expect(off.ok && off.config.server.timeouts.replay).toBe(600_000);
    // An ingest answer past the socket timeout would never be read either.
    const slow = loadConfig({ source: 't.yaml', fileText: 'server: { timeouts: { socket: 90s } }\ningest: { answer_within: 2m }', env: {}, flags: {} });
    expect(slow.ok ? [] : slow.errors.join('\n')).toMatch(/ingest\.answer_within: must be at least 1s and, when server\.timeouts\.socket is on, less than it/);
    const fine = loadConfig({ source: 't.yaml', fileText: 'ingest: { answer_within: 20s }', env: {}, flags: {} });
    expect(fine.ok && fine.config.ingest.answer_within).toBe(20_000);
  });

  it('parses policies, periods, durations and actions', () => {
    const r = load(`
detector: { interval: 5s }
policies:
  - name: p
    scope: tenant
    match: { plan: free }
    period: { billing_cycle: { anchor: 2026-01-31, timezone: Europe/Berlin } }
    limits: { cost_usd: 5, requests: 100 }
    action: { throttle: { requests_per_minute: 10 } }
  - name: r
    scope: api_key
    period: { rolling: 24h }
    limits: { tokens: 1000 }
`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.detector.interval).toBe(5000);
    expect(r.config.policies[0]).toMatchObject({
      match: { plan: 'free' },
      period: { kind: 'billing_cycle', anchor: '2026-01-31', timezone: 'Europe/Berlin' },
      action: { type: 'throttle', requestsPerMinute: 10 },
      thresholds: [0.5, 0.8, 1],
    });
    expect(r.config.policies[1]!.period).toEqual({ kind: 'rolling', ms: 86_400_000 });
  });

  it('names the path and the value of every problem', () => {
    const r = load(`
detector: { intreval: 2s }
policies:
  - name: p
    scope: api_key
    period: { calendar: dya }
    limits: { cost_usd: -5 }
`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.errors.join('\n');
    expect(text).toContain('tk.yaml: detector.intreval: unknown key (did you mean "interval"?)');
    expect(text).toMatch(/policies\[0\]\.period\.calendar: .*"dya"/);
    expect(text).toMatch(/policies\[0\]\.limits\.cost_usd: .*-5/);
  });

  it('reports invalid YAML and a non-mapping document', () => {
    const bad = load('policies: [\n');
    expect(!bad.ok && bad.errors[0]).toMatch(/^tk\.yaml: invalid YAML/);
    const list = load('- a\n- b\n');
    expect(!list.ok && list.errors[0]).toContain('expected a mapping');
  });

  it('rejects an unknown time zone and a bad duration', () => {
    const r = load(`
detector: { interval: soon }
policies: [{ name: p, scope: api_key, period: { calendar: day, timezone: Mars/Olympus }, limits: { tokens: 1 } }]
`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.join('\n')).toMatch(/detector\.interval/);
    expect(r.errors.join('\n')).toMatch(/timezone/);
  });

  it('accepts the shipped example config', () => {
    const text = readFileSync(new URL('../../tollkeeper.example.yaml', import.meta.url), 'utf8');
    const r = load(text);
    expect(r.ok ? r.config.policies.map((p) => p.name) : r.errors).toEqual(['daily-cost-per-key', 'tenant-monthly']);
  });

  it('lets flags beat env and env beat the file', () => {
    const yaml = 'server: { otlp_port: 1111 }\nauth: { admin_token: from-file-0123456789 }\n';
    const r = load(yaml, { TOLLKEEPER_ADMIN_TOKEN: 'from-env-0123456789', TOLLKEEPER_CLICKHOUSE_URL: 'http://env:8123' }, { otlpPort: 2222, clickhouseUrl: 'http://flag:8123' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.server.otlp_port).toBe(2222);
    expect(r.config.auth.admin_token).toBe('from-env-0123456789');
    expect(r.config.store.clickhouse?.url).toBe('http://flag:8123');
  });
});

describe('config errors', () => {
  function errors(yaml: string): string[] {
    const r = load(yaml);
    return r.ok ? [] : r.errors;
  }

  it('names the branch a value came closest to, or every branch when none fits', () => {
    expect(errors('pricing: { fallback: { input_per_mtok: 1 } }')).toEqual(['tk.yaml: pricing.fallback.output_per_mtok: required']);
    expect(errors('anomaly: { actions: { critical: nuke } }')).toEqual(['tk.yaml: anomaly.actions.critical: expected "alert" or "revoke" or { throttle: … } (got "nuke")']);
    expect(errors('policies: [{ name: p, scope: api_key, limits: { tokens: 1 }, period: { rolling: soon } }]')[0]).toMatch(/^tk\.yaml: policies\[0\]\.period\.rolling: invalid duration "soon"/);
  });

  it('refuses a list or a scalar where a mapping belongs instead of filling in defaults', () => {
    expect(errors('policies: {}')).toEqual(['tk.yaml: policies: expected a list (got {})']);
    expect(errors('server: []')).toEqual(['tk.yaml: server: expected a mapping (got [])']);
  });

  it('reports what only a conversion can see at its path, and conflicting store choices', () => {
    expect(errors('policies: [{ name: p, scope: api_key, limits: { tokens: 1 }, period: { billing_cycle: { anchor: 2026-02-30 } } }]')[0]).toMatch(/^tk\.yaml: policies\[0\]\.period: billing_cycle anchor "2026-02-30"/);
    expect(errors('store: { chdb: { path: ./d }, clickhouse: { url: "http://ch:8123" } }')).toEqual(['tk.yaml: store: choose one of store.chdb and store.clickhouse']);
    expect(errors('store: { clickhouse: { url: "not a url" } }')).toEqual(['tk.yaml: store.clickhouse.url: expected a URL like http://localhost:8123 (got "not a url")']);
  });

  it('lower-cases gateway header names and converts durations', () => {
    const r = load('gateway: { headers: { api_key: X-Key }, max_staleness: 1m }\nanomaly: { ttl: 1h }');
    expect(r.ok && r.config.gateway.headers.api_key).toBe('x-key');
    expect(r.ok && r.config.gateway.max_staleness).toBe(60_000);
    expect(r.ok && r.config.anomaly.ttl).toBe(3_600_000);
  });
});
