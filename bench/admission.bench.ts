// bench-timeout: 12m
// Admission: latency and throughput of POST /v1/admission, and the overspend past a hard limit with a gateway that
// only asks /v1/authorize before each call (enforcement after the fact) versus one that asks /v1/admission.
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { startBenchApp } from './lib/app.ts';
import { progress, runBench, type BenchResult } from './lib/harness.ts';
import { httpLoad, measured, rawGet, type Measured } from './lib/http-load.ts';
import { otlpJson, postJson, type ChatSpan } from './lib/spans-json.ts';
import { fmt } from './lib/stats.ts';

const COST = 0.01;
const SEND_EVERY_MS = 50;
// gpt-4o at $2 in / $8 out per million: 1,000 in + 1,000 out is $0.01, also at worst (cache writes and reasoning at the same rates).
const PRICING = `pricing: { overrides: [{ provider: openai, model: gpt-4o, input_per_mtok: 2, output_per_mtok: 8, effective_from: 2020-01-01 }] }`;
const ESTIMATE = { model: 'gpt-4o', provider: 'openai', input_tokens: 1000, max_output_tokens: 1000 };
const loadAverage = () => loadavg().map((l) => l.toFixed(1)).join(' / ');

function rawPost(path: string, headers: Record<string, string>, body: string): string {
  const h = { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  return `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
}

// The gateway's connections to tollkeeper: kept alive and bounded, as a real gateway's pool is.
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One HTTP exchange over the bounded pool: status and body text. */
function call(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: body !== undefined ? { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : headers, agent, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** One overspend trial: open-loop calls at `rps` against a daily cost limit crossed ~3 s in; each call asks first. */
async function overspend(dataDir: string, mode: 'authorize' | 'admission', rps: number, trial: number) {
  const limit = Math.round(rps * 3 * COST);
  const yaml = `detector: { interval: 1000ms }\nanomaly: { enabled: false }\n${PRICING}\npolicies: [{ name: cap, scope: api_key, limits: { cost_usd: ${limit} }, action: revoke }]\n`;
  const b = await startBenchApp(dataDir, `admission_${mode}_${rps}_${trial}`, { yaml });
  const token = b.app.tokens.gateway;
  const key = `key-${mode}-${rps}-${trial}`;
  try {
    for (let i = 0; i < 500 && (b.app.loop?.stats.lastOkAt ?? 0) === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const perBatch = Math.max(1, Math.round((rps * SEND_EVERY_MS) / 1000));
    let allowed = 0;
    let refused = 0;
    let crossedAt: number | null = null;
    let lastAllowedAt = 0;
    const started = Date.now();
    const ask = async (): Promise<ChatSpan | null> => {
      if (mode === 'authorize') {
        const res = await call(`${b.apiUrl}/v1/authorize`, 'GET', { authorization: `Bearer ${token}`, 'x-tollkeeper-api-key': key });
        return res.status === 200 ? { apiKey: key, costUsd: COST, inputTokens: 1000, outputTokens: 1000, endMs: Date.now() } : null;
      }
      const res = await call(`${b.apiUrl}/v1/admission`, 'POST', { authorization: `Bearer ${token}` }, JSON.stringify({ entities: [{ kind: 'api_key', id: key }], estimate: ESTIMATE }));
      if (res.status !== 200) throw new Error(`admission answered ${res.status}: ${res.text.slice(0, 200)}`);
      const a = JSON.parse(res.text) as { decision: string; reservation_id?: string };
      if (a.decision !== 'allow') return null;
      return { apiKey: key, costUsd: COST, inputTokens: 1000, outputTokens: 1000, endMs: Date.now(), ...(a.reservation_id ? { reservationId: a.reservation_id } : {}) };
    };
    // Open loop: a batch of calls every 50 ms whatever the answers' latency, each asking first; the allowed ones are
    // reported over OTLP as made.
    const batches: Promise<void>[] = [];
    const batch = async () => {
      const spans = (await Promise.all(Array.from({ length: perBatch }, ask))).filter((s): s is ChatSpan => s !== null);
      refused += perBatch - spans.length;
      if (spans.length === 0) return;
      allowed += spans.length;
      lastAllowedAt = Date.now();
      if (crossedAt === null && allowed * COST > limit) crossedAt = Date.now();
      const status = await postJson(b.otlpUrl, otlpJson(spans));
      if (status !== 200) throw new Error(`ingest answered ${status}`);
    };
    for (let i = 0; Date.now() - started < 7_000; i++) {
      const due = started + i * SEND_EVERY_MS;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      batches.push(batch());
    }
    await Promise.all(batches);
    const spent = allowed * COST;
    return { limit, spent, overspend: Math.max(0, spent - limit), refused, afterCrossMs: crossedAt === null ? null : Math.max(0, lastAllowedAt - crossedAt) };
  } finally {
    await b.close();
  }
}

await runBench(async (ctx): Promise<BenchResult> => {
  const problems: string[] = [];
  const latencyRows: string[][] = [];
  const loadBefore = loadAverage();

  // Latency and throughput: a budget no call reaches, 1,000 keys round robin, reservations of 5 s (the ledger holds
  // what a real gateway's calls would hold before their spans commit them).
  {
    const yaml = `detector: { interval: 2s }\nanomaly: { enabled: false }\n${PRICING}\npolicies: [{ name: cap, scope: api_key, limits: { cost_usd: 1000000 }, action: revoke }, { name: tenant-cap, scope: tenant, limits: { cost_usd: 1000000, requests: 100000000 }, action: revoke }]\n`;
    const b = await startBenchApp(ctx.tmpDir, 'admission_latency', { yaml });
    try {
      for (let i = 0; i < 500 && (b.app.loop?.stats.lastOkAt ?? 0) === 0; i++) await new Promise((r) => setTimeout(r, 10));
      const port = Number(new URL(b.apiUrl).port);
      const auth = { authorization: `Bearer ${b.app.tokens.gateway}` };
      const admissions = Array.from({ length: 1000 }, (_, i) =>
        rawPost('/v1/admission', auth, JSON.stringify({ entities: [{ kind: 'api_key', id: `k-${i}` }, { kind: 'tenant', id: `t-${i % 10}` }], estimate: ESTIMATE, ttl: 5 })),
      );
      const authorizes = Array.from({ length: 1000 }, (_, i) => rawGet('/v1/authorize', { ...auth, 'x-tollkeeper-api-key': `k-${i}`, 'x-tollkeeper-tenant': `t-${i % 10}` }));
      const durationMs = Math.round(8_000 * ctx.scale) + 2_000;
      progress('warm-up');
      await httpLoad({ mode: 'closed', port, connections: 16, durationMs: 2_000, requests: admissions });
      const cells: [string, string, Parameters<typeof httpLoad>[0]][] = [
        ['POST /v1/admission', 'saturated, 32 conn', { mode: 'closed', port, connections: 32, durationMs, requests: admissions }],
        ['POST /v1/admission', '1,000 req/s, 32 conn', { mode: 'rate', rate: 1000, port, connections: 32, durationMs, requests: admissions }],
        ['GET /v1/authorize (reference)', 'saturated, 32 conn', { mode: 'closed', port, connections: 32, durationMs, requests: authorizes }],
        ['GET /v1/authorize (reference)', '1,000 req/s, 32 conn', { mode: 'rate', rate: 1000, port, connections: 32, durationMs, requests: authorizes }],
      ];
      for (const [what, load, spec] of cells) {
        progress(`${what} · ${load}`);
        const m: Measured = measured(await httpLoad(spec));
        if (m.errors > 0) problems.push(`${what} ${load}: ${m.errors} errors`);
        latencyRows.push([what, load, fmt(m.rps), fmt(m.p50, 2), fmt(m.p99, 2), fmt(m.max, 1), m.statuses]);
      }
      latencyRows.push(['open reservations at the end', '', fmt(b.app.admission?.size ?? 0), '', '', '', '']);
    } finally {
      await b.close();
    }
  }

  const trials = Math.max(1, Math.round(ctx.scale));
  const spendRows: string[][] = [];
  // 500 rather than 1,000 calls a second: the calling gateway runs in tollkeeper's own process here, on a shared machine.
  for (const rps of [100, 500]) {
    for (const mode of ['authorize', 'admission'] as const) {
      const results: NonNullable<Awaited<ReturnType<typeof overspend>>>[] = [];
      for (let t = 0; t < trials; t++) {
        progress(`overspend · ${mode} · ${rps} req/s · trial ${t + 1}/${trials}`);
        const t0 = Date.now();
        const r = await overspend(ctx.tmpDir, mode, rps, t);
        progress(`  spent $${r.spent.toFixed(2)} of $${r.limit}, refused ${r.refused}, trial took ${fmt((Date.now() - t0) / 1000)} s`);
        results.push(r);
      }
      const worst = results.reduce((a, r) => (r.overspend > a.overspend ? r : a));
      const mean = results.reduce((a, r) => a + r.overspend, 0) / results.length;
      spendRows.push([
        mode === 'authorize' ? 'before: /v1/authorize per call' : 'after: /v1/admission per call',
        fmt(rps),
        `$${fmt(worst.limit, 2)}`,
        `$${fmt(worst.spent, 2)}`,
        `$${fmt(mean, 2)} / $${fmt(worst.overspend, 2)}`,
        worst.afterCrossMs === null ? '—' : `${fmt(worst.afterCrossMs)} ms`,
        fmt(worst.refused),
      ]);
      if (mode === 'admission' && worst.overspend > 1e-9) problems.push(`admission at ${rps} req/s overspent $${worst.overspend.toFixed(2)}`);
    }
  }

  return {
    title: 'Admission with reservations',
    method: [
      'Latency: the real app (every role, embedded ClickHouse) on 127.0.0.1; bench/lib/http-load-child.ts in its own process, keep-alive, one request in flight per connection. Bodies name an api_key (1,000 round robin) and a tenant (10), each under a revoking cost policy no call reaches; reservations of 5 s (ttl), so the ledger holds what real calls would hold before their spans commit them. /v1/authorize on the same app for reference.',
      'Overspend (the method of "Overspend after a hard limit"): one key makes $0.01 calls (1,000 in + 1,000 out tokens of gpt-4o at $2/$8 per million: also the worst case), open loop, a batch every 50 ms, against a daily cost limit crossed about 3 s in; 7 s per trial; detector interval 1 s. Each call asks first: "before" asks GET /v1/authorize (enforcement after the fact), "after" asks POST /v1/admission with the estimate and puts the reservation id on its span. Allowed calls are reported over OTLP/JSON as made. Overspend = spend of allowed calls beyond the limit. The calling gateway (a keep-alive pool of 64 connections) runs in the same process as tollkeeper.',
      'Admission may stop short of the limit: usage stored while a detector tick reads counts twice until the next tick ends (more, never less), and ticks are slow on a loaded machine; what it leaves unspent is the "spent" column\'s gap to the limit.',
      `${trials} trial(s) per cell; mean / worst shown. Load average (1/5/15 min) before: ${loadBefore}; after: ${loadAverage()} — 8 engineers share this 2-core machine, so absolute latencies are under load.`,
    ],
    tables: [
      { caption: 'Latency and throughput', columns: ['route', 'load', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'statuses'], rows: latencyRows },
      { caption: 'Overspend past a hard limit, before and after admission', columns: ['gateway asks', 'req/s', 'limit', 'spent (worst trial)', 'overspend mean / worst', 'last allowed after crossing (worst)', 'refused'], rows: spendRows },
    ],
    problems,
  };
});
