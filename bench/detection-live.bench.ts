// bench-timeout: 20m
// Live denial-of-wallet detection in wall-clock time: a seeded fleet (24 keys / 4 tenants / 4 agents, 7 days of
// history) plus trap keys with their own seeded history, then attacks and traps sent through the real OTel SDK
// exporter with its default batching, while the detector runs at its default interval. Reports, per attack, the
// delay to the first incident and to the first critical one (enforcement with the default actions), the spend
// before enforcement, and per trap what it raised. BENCH_LIVE_SECONDS sets the live run (default 270 s; 900 judges
// the slow drip over its 15 minutes).
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Attributes } from '@opentelemetry/api';
import { createAnomalyRepo } from '../store/anomaly-repo.ts';
import { startBenchApp } from './lib/app.ts';
import { progress, runBench, type BenchResult } from './lib/harness.ts';
import { KEYS, MEDIAN_HOURLY, callCost, classify, fleetSeed, hourlyOf, perSecondOf, tenantOf, agentOf, type Attack, type Trap } from './lib/live-fleet.ts';

const MINUTE = 60_000;

await runBench(async (ctx): Promise<BenchResult> => {
  const runS = Math.max(60, Math.round(Number(process.env.BENCH_LIVE_SECONDS ?? 270) * ctx.scale));
  const t0Planned = Date.now() + 60_000; // seeding takes well under a minute; the live run starts after it
  const resetAt = Math.ceil((t0Planned + 40_000) / 1000) * 1000;
  // A billing cycle that starts 40 s into the live run: the reset trap's key comes back from its quota block then.
  const yaml = `
policies:
  - name: reset-trap
    scope: api_key
    period: { billing_cycle: { anchor: '${new Date(resetAt).toISOString().slice(0, 19)}', timezone: UTC } }
    limits: { cost_usd: 1000000 }
`;
  const b = await startBenchApp(ctx.tmpDir, 'detect_live', { yaml });
  const store = b.app.store;
  const cur = Math.floor(Date.now() / MINUTE) * MINUTE;
  progress('seeding 7 days of per-minute history: 24 fleet keys, 4 tenants, 4 agents and 3 trap keys');
  const seed = fleetSeed(store, cur);
  for (let k = 0; k < KEYS; k++) await seed.key(`k${k}`, tenantOf(k), 1, callCost(k));
  for (let t = 0; t < 4; t++) await seed.flat('tenant', `t${t}`, `t${t}`, 6, hourlyOf(t * 6 + 2.5) / 60);
  for (let a = 0; a < 4; a++) await seed.flat('agent', `ag${a}`, '', 6, MEDIAN_HOURLY / 60);
  // Traps with history: +10 %/day for a week; a daily batch at 20× in this hour and the next; a key blocked by its
  // quota for the last 50 minutes, about to reset.
  await seed.growing('k-grow', 't-trap', 3, 0.01);
  await seed.batch('k-batch', 't-trap', 1, 0.01, 20, [new Date(cur).getUTCHours(), (new Date(cur).getUTCHours() + 1) % 24]);
  await seed.key('k-reset', 't-trap', 2, 0.01, 50);

  const exporter = new OTLPTraceExporter({ url: `${b.otlpUrl}/v1/traces` });
  // The SDK's default batching: a 5 s scheduled delay, 512 spans per export.
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'bench-live' }), spanProcessors: [new BatchSpanProcessor(exporter)] });
  const tracer = provider.getTracer('bench-live');
  const send = (key: string, tenant: string, agent: string, cost: number, tool = false): number => {
    const a: Attributes = { 'gen_ai.provider.name': 'openai', 'tollkeeper.api_key.id': key, 'tenant.id': tenant, 'gen_ai.agent.name': agent };
    if (tool) Object.assign(a, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'web_search' });
    else Object.assign(a, { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 1500, 'gen_ai.usage.output_tokens': 300, 'gen_ai.usage.cost': cost });
    tracer.startSpan(tool ? 'execute_tool web_search' : 'chat gpt-4o-mini', { attributes: a }).end();
    return Date.now();
  };
  const perSecond = perSecondOf(42);
  const fleet = (k: number) => ({ id: `k${k}`, tenant: tenantOf(k), agent: agentOf(k), cost: callCost(k) });
  const [k0, k7, k17] = [fleet(0), fleet(7), fleet(17)];
  const t3 = [18, 19, 20, 21, 22, 23];
  const attack = (name: string, targets: string[], usualHourly: number, tick: Attack['tick']): Attack => ({ name, targets, usualHourly, tick, sent: [], startS: 10 });
  const attacks: Attack[] = [
    attack('burst: 10× calls at 5× cost (k0, ~50× its $/h)', ['api_key:k0'], hourlyOf(0), (_s, out) => {
      for (let i = perSecond(10); i > 0; i--) out(k0.id, k0.tenant, k0.agent, 5 * k0.cost);
    }),
    attack('new key at ~30× the median key’s $/h', ['api_key:k-new'], MEDIAN_HOURLY, (_s, out) => {
      for (let i = perSecond(10); i > 0; i--) out('k-new', 't1', 'ag1', (30 * MEDIAN_HOURLY) / 600);
    }),
    attack('runaway loop: chat + tool every 200 ms (k7)', ['api_key:k7', 'agent:ag-loop'], hourlyOf(7), (_s, out) => {
      for (let i = 0; i < 5; i++) {
        out(k7.id, k7.tenant, 'ag-loop', k7.cost);
        out(k7.id, k7.tenant, 'ag-loop', 0, true);
      }
    }),
    attack('tenant-wide 4× (t3: 6 keys, each 4×; goal: a warning, $22/h is not 20× its usual hour)', ['tenant:t3', ...t3.map((k) => `api_key:k${k}`)], t3.reduce((a, k) => a + hourlyOf(k), 0), (_s, out) => {
      for (const k of t3) for (let i = perSecond(4); i > 0; i--) out(`k${k}`, tenantOf(k), agentOf(k), callCost(k));
    }),
    attack('slow drip 4× (k17)', ['api_key:k17'], hourlyOf(17), (_s, out) => {
      for (let i = perSecond(4); i > 0; i--) out(k17.id, k17.tenant, k17.agent, k17.cost);
    }),
  ];
  const attacked = new Set([0, 7, 17, ...t3]);
  const traps: Trap[] = [
    { name: 'organic growth (+10 %/day for a week, k-grow)', entities: ['api_key:k-grow'] },
    { name: 'daily batch at 20× in its usual hour (k-batch)', entities: ['api_key:k-batch'] },
    { name: 'quota period reset: blocked 50 min, catch-up surge at the reset (k-reset)', entities: ['api_key:k-reset'] },
    { name: 'single $3 request (k9)', entities: ['api_key:k9'] },
    { name: 'the trap keys’ tenant and agent (t-trap, ag-trap)', entities: ['tenant:t-trap', 'agent:ag-trap'] },
    { name: 'steady fleet: 17 keys at their usual pace', entities: [...Array.from({ length: KEYS }, (_, k) => k).filter((k) => !attacked.has(k) && k !== 9).map((k) => `api_key:k${k}`)] },
  ];
  const repo = createAnomalyRepo(store);
  const seen = new Map<string, { flag: number; critical?: number }>();
  const t0 = Math.max(Date.now(), t0Planned);
  while (Date.now() < t0) await new Promise((r) => setTimeout(r, 200));
  progress(`live for ${runS} s: fleet + ${attacks.length} attacks + ${traps.length} traps (reset at ${new Date(resetAt).toISOString()})`);
  let exported = 0;
  for (let s = 0; s < runS; s++) {
    const wait = t0 + s * 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const out = (k: string, t: string, ag: string, cost: number, tool?: boolean): number => (exported++, send(k, t, ag, cost, tool));
    for (let k = 0; k < KEYS; k++) if (!attacked.has(k) || s < 10) for (let i = perSecond(1); i > 0; i--) out(`k${k}`, tenantOf(k), agentOf(k), callCost(k));
    if (s === 30) out('k9', tenantOf(9), agentOf(9), 3);
    for (let i = perSecond(3.15); i > 0; i--) out('k-grow', 't-trap', 'ag-trap', 0.01);
    for (let i = perSecond(20); i > 0; i--) out('k-batch', 't-trap', 'ag-trap', 0.01);
    const sinceReset = t0 + s * 1000 - resetAt;
    // Held-back demand comes back at the reset: 6× the usual rate, decaying over a few minutes, on top of the usual.
    if (sinceReset >= 0) for (let i = perSecond(2 + 10 * Math.exp(-sinceReset / (2 * MINUTE))); i > 0; i--) out('k-reset', 't-trap', 'ag-trap', 0.01);
    for (const a of attacks) {
      if (s < a.startS) continue;
      a.tick(s, (k, t, ag, cost, tool) => a.sent.push({ at: out(k, t, ag, cost, tool), cost }));
    }
    for (const inc of await repo.listIncidents({ from: t0 - 10 * MINUTE, limit: 1000 })) {
      const key = `${inc.kind}:${inc.entityId}`;
      const e = seen.get(key) ?? { flag: Date.now() };
      if (inc.severity === 'critical' && e.critical === undefined) e.critical = Date.now();
      seen.set(key, e);
    }
  }
  await provider.shutdown();
  await b.app.writer?.flush();
  // The exporter's batching delay: from a span's end in the SDK to its row being stored.
  const [lag] = await store.query<{ p50: number; p95: number; mx: number }>(
    `SELECT quantile(0.5)(d) AS p50, quantile(0.95)(d) AS p95, max(d) AS mx FROM (SELECT toUnixTimestamp64Milli(ingested_at) - toUnixTimestamp64Milli(time) AS d FROM ${store.table('usage_events')} WHERE time >= {t0:DateTime64(3)})`,
    { t0: new Date(t0).toISOString().slice(0, 23).replace('T', ' ') },
  );
  const firstStored = async (a: Attack): Promise<number | undefined> => {
    const first = a.sent[0]?.at;
    if (first === undefined) return undefined;
    const keys = a.targets.filter((t) => t.startsWith('api_key:')).map((t) => t.slice(8));
    const [r] = await store.query<{ at: string }>(
      `SELECT toString(toUnixTimestamp64Milli(min(ingested_at))) AS at FROM ${store.table('usage_events')} WHERE api_key IN {keys:Array(String)} AND time >= {from:DateTime64(3)}`,
      { keys, from: new Date(first).toISOString().slice(0, 23).replace('T', ' ') },
    );
    return r && Number(r.at) > 0 ? Number(r.at) : undefined;
  };
  const stored = await Promise.all(attacks.map(firstStored));
  await b.close();
  const table = classify(attacks, stored, traps, seen, (lag?.p50 ?? 0) / 1000);
  return {
    title: 'Live detection (wall clock)',
    method: [
      `24 keys / 4 tenants / 4 agents with 7 days of per-minute history (about one call a minute per key, $0.30–1.00/h each) and 3 trap keys with their own history; then ${runS} s live: the fleet keeps its pace while 5 attacks start 10 s in and the traps play out, all sent through the real OTel SDK (BatchSpanProcessor defaults), detector at its default 2 s interval and default settings (thresholds 4/8, critical_spend 20× and $5/h, fresh path on: 10 s buckets, 30 min window).`,
      `Exporter batching delay (span end in the SDK → row stored), measured on this run: p50 ${((lag?.p50 ?? 0) / 1000).toFixed(1)} s, p95 ${((lag?.p95 ?? 0) / 1000).toFixed(1)} s, max ${((lag?.mx ?? 0) / 1000).toFixed(1)} s. Delays are given from the first attack span stored (what the detector can know) and, in brackets, from its end in the SDK; incidents polled once a second.`,
      'A tenant or an agent is critical only by money at risk (a moderate tenant-wide rise warns; its row shows the spend of the whole run). Spend is what the attack sent until enforcement, in $ and in usual hours of the entity. Recall: attacks flagged during the run; precision: incidents on attacked entities (or a tenant/agent holding one) among all incidents. The slow drip needs 5–15 minutes of evidence: `BENCH_LIVE_SECONDS=900 npm run bench -- --only detection-live` runs long enough to judge it.',
      `${exported.toLocaleString('en-US')} spans exported.`,
    ],
    tables: table,
    problems: [],
  };
});
