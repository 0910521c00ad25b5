// Live denial-of-wallet detection in wall-clock time: a seeded fleet (24 keys / 4 tenants / 4 agents, 7 days of
// history), then attacks and traps sent through the real OTel SDK exporter with its default batching, while the
// detector runs at its default interval. Reports, per attack, the delay to the first incident and to the first
// critical one (enforcement with the default actions) and the attack's spend before enforcement.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Attributes } from '@opentelemetry/api';
import { createAnomalyRepo } from '../store/anomaly-repo.ts';
import { progress, runBench, type BenchResult } from './lib/harness.ts';
import { startBenchApp } from './lib/app.ts';

const MINUTE = 60_000;
const KEYS = 24;
const tenantOf = (k: number): string => `t${Math.floor(k / 6)}`;
const agentOf = (k: number): string => `ag${k % 4}`;
/** Each key's usual spend, $0.30–1.00 an hour at about one call a minute. */
const hourlyOf = (k: number): number => 0.3 + (0.7 * k) / (KEYS - 1);
const callCost = (k: number): number => hourlyOf(k) / 60;
const MEDIAN_HOURLY = (hourlyOf(11) + hourlyOf(12)) / 2;

interface Attack {
  name: string;
  /** Entities whose incident counts as catching it. */
  targets: string[];
  usualHourly: number;
  /** Per second of the run: spans to send (cost, identity, tool?). */
  tick(second: number, send: (k: string, tenant: string, agent: string, cost: number, tool?: boolean) => void): void;
  sent: { at: number; cost: number }[];
  /** When it goes live (s after the start of the live run). */
  startS: number;
}

function fleetKey(k: number): { id: string; tenant: string; agent: string; cost: number } {
  return { id: `k${k}`, tenant: tenantOf(k), agent: agentOf(k), cost: callCost(k) };
}

await runBench(async (ctx): Promise<BenchResult> => {
  const runS = Math.max(60, Math.round(180 * ctx.scale));
  const b = await startBenchApp(ctx.tmpDir, 'detect_live', { yaml: '' });
  const store = b.app.store;
  const now = Date.now();
  const cur = Math.floor(now / MINUTE) * MINUTE;
  progress('seeding 7 days of per-minute history for 24 keys, 4 tenants, 4 agents');
  // Calls per key-minute: 0, 1 or 2 (mean 1); tenants and agents get the sum of their 6 keys' means, drawn alike.
  const minutes = 7 * 1440;
  const seed = (kind: string, entity: string, tenant: string, perMin: number, usd: number) =>
    store.command(
      `INSERT INTO ${store.table('usage_minute')} SELECT {kind:String}, {entity:String}, toDateTime({cur:UInt32}) - toIntervalMinute(number + 1), {tenant:String},
         r, r, 0, r * 1500, r * 300, 0, 0, 0, 0, r * {usd:Float64}, 0
       FROM (SELECT number, toUInt64(rand(number + {salt:UInt32}) % ({span:UInt32} + 1)) AS r FROM numbers({n:UInt32})) WHERE r > 0`,
      { kind, entity, tenant, cur: cur / 1000, usd, salt: entity.length * 7919 + kind.length, span: 2 * perMin, n: minutes },
    );
  for (let k = 0; k < KEYS; k++) {
    const f = fleetKey(k);
    await seed('api_key', f.id, f.tenant, 1, f.cost);
  }
  for (let t = 0; t < 4; t++) await seed('tenant', `t${t}`, `t${t}`, 6, (hourlyOf(t * 6 + 2.5) / 60));
  for (let a = 0; a < 4; a++) await seed('agent', `ag${a}`, '', 6, MEDIAN_HOURLY / 60);

  const exporter = new OTLPTraceExporter({ url: `${b.otlpUrl}/v1/traces` });
  // The SDK's default batching: a 5 s scheduled delay, 512 spans per export.
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'bench-live' }), spanProcessors: [new BatchSpanProcessor(exporter)] });
  const tracer = provider.getTracer('bench-live');
  const send = (key: string, tenant: string, agent: string, cost: number, tool = false): void => {
    const a: Attributes = { 'gen_ai.provider.name': 'openai', 'tollkeeper.api_key.id': key, 'tenant.id': tenant, 'gen_ai.agent.name': agent };
    if (tool) Object.assign(a, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'web_search' });
    else Object.assign(a, { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 1500, 'gen_ai.usage.output_tokens': 300, 'gen_ai.usage.cost': cost });
    tracer.startSpan(tool ? 'execute_tool web_search' : 'chat gpt-4o-mini', { attributes: a }).end();
  };
  const attacked = new Set<number>([0, 7, 12, ...[18, 19, 20, 21, 22, 23]]);
  const rnd = (() => {
    let s = 42;
    return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  })();
  const perSecond = (perMinute: number): number => {
    // Calls this second for a Poisson-ish rate (whole part always, fraction by chance).
    const whole = Math.floor(perMinute / 60);
    return whole + (rnd() < perMinute / 60 - whole ? 1 : 0);
  };
  const attack = (name: string, targets: string[], usualHourly: number, startS: number, tick: Attack['tick']): Attack => ({ name, targets, usualHourly, tick, sent: [], startS });
  const k0 = fleetKey(0);
  const k7 = fleetKey(7);
  const k12 = fleetKey(12);
  const attacks: Attack[] = [
    attack('burst: 10× calls at 5× cost (k0)', ['api_key:k0'], hourlyOf(0), 10, (_s, out) => {
      for (let i = perSecond(10); i > 0; i--) out(k0.id, k0.tenant, k0.agent, 5 * k0.cost);
    }),
    attack('new key at ~30× the median $/h', ['api_key:k-new'], MEDIAN_HOURLY, 10, (_s, out) => {
      for (let i = perSecond(10); i > 0; i--) out('k-new', 't1', 'ag1', (30 * MEDIAN_HOURLY) / 600);
    }),
    attack('runaway loop: chat + tool every 200 ms (k7)', ['api_key:k7', 'agent:ag-loop'], hourlyOf(7), 10, (_s, out) => {
      for (let i = 0; i < 5; i++) {
        out(k7.id, k7.tenant, 'ag-loop', k7.cost);
        out(k7.id, k7.tenant, 'ag-loop', 0, true);
      }
    }),
    attack('tenant-wide 4× (t3, 6 keys)', ['tenant:t3'], [18, 19, 20, 21, 22, 23].reduce((a, k) => a + hourlyOf(k), 0), 10, (_s, out) => {
      for (const k of [18, 19, 20, 21, 22, 23]) for (let i = perSecond(4); i > 0; i--) out(`k${k}`, tenantOf(k), agentOf(k), callCost(k));
    }),
    attack('slow drip 3.5× (k12)', ['api_key:k12'], hourlyOf(12), 10, (_s, out) => {
      for (let i = perSecond(3.5); i > 0; i--) out(k12.id, k12.tenant, k12.agent, k12.cost);
    }),
  ];
  const repo = createAnomalyRepo(store);
  const flagged = new Map<string, number>();
  const critical = new Map<string, number>();
  const t0 = Date.now();
  progress(`live for ${runS} s: fleet + ${attacks.length} attacks + a single $3 request on k13 at 30 s`);
  for (let s = 0; s < runS; s++) {
    const at = t0 + s * 1000;
    const wait = at - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let k = 0; k < KEYS; k++) if (!attacked.has(k) || s < 10) for (let i = perSecond(1); i > 0; i--) send(`k${k}`, tenantOf(k), agentOf(k), callCost(k));
    if (s === 30) send('k13', tenantOf(13), agentOf(13), 3);
    for (const a of attacks) {
      if (s < a.startS) continue;
      a.tick(s, (k, t, ag, cost, tool) => {
        send(k, t, ag, cost, tool);
        a.sent.push({ at: Date.now(), cost });
      });
    }
    for (const inc of await repo.listIncidents({ from: t0 - 10 * MINUTE, limit: 1000 })) {
      const key = `${inc.kind}:${inc.entityId}`;
      if (!flagged.has(key)) flagged.set(key, Date.now());
      if (inc.severity === 'critical' && !critical.has(key)) critical.set(key, Date.now());
    }
  }
  await provider.shutdown();
  await b.close();

  const secs = (ms: number | undefined): string => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);
  const rows = attacks.map((a) => {
    const first = a.sent[0]?.at ?? t0;
    const when = (m: Map<string, number>) => a.targets.map((t) => m.get(t)).filter((v): v is number => v !== undefined).sort((x, y) => x - y)[0];
    const flagAt = when(flagged);
    const critAt = when(critical);
    const spend = a.sent.filter((x) => critAt === undefined || x.at <= critAt).reduce((acc, x) => acc + x.cost, 0);
    return [a.name, secs(flagAt === undefined ? undefined : flagAt - first), secs(critAt === undefined ? undefined : critAt - first), `$${spend.toFixed(2)}${critAt === undefined ? ' (not enforced: whole run)' : ''}`, `${(spend / a.usualHourly).toFixed(1)}×`];
  });
  const targets = new Set(attacks.flatMap((a) => a.targets));
  const others = [...flagged.keys()].filter((k) => !targets.has(k));
  const trapRows = [
    ['single $3 request (k13)', flagged.has('api_key:k13') ? (critical.has('api_key:k13') ? 'critical' : 'warning') : 'nothing'],
    ['steady fleet: api_keys not attacked', others.filter((k) => k.startsWith('api_key:') && k !== 'api_key:k13').join(', ') || 'nothing'],
    ['tenants/agents holding an attacked key', others.filter((k) => !k.startsWith('api_key:')).map((k) => `${k}${critical.has(k) ? ' (critical)' : ''}`).join(', ') || 'nothing'],
  ];
  return {
    title: 'Live detection (wall clock)',
    method: [
      `24 keys / 4 tenants / 4 agents with 7 days of per-minute history (about one call a minute per key, $0.30–1.00/h each); then ${runS} s live: the fleet keeps its pace while 5 attacks start 10 s in, all sent through the real OTel SDK (BatchSpanProcessor defaults: 5 s scheduled delay, so up to 5 s of every delay below is the exporter's), detector at its default 2 s interval and default thresholds (critical_spend: 20× and $5/h).`,
      'Delays are from the first attack span ended in the SDK to the first incident (flag) and to the first critical incident (enforced with the default actions), seen by polling the incidents once a second. Spend is what the attack sent until enforcement, in $ and in usual hours of the entity.',
      'The attacks run at the same time on different entities of one fleet; the slow drip is cut short by the run length and shows what it shows in that time.',
    ],
    tables: [
      { caption: 'Attacks', columns: ['attack', 'delay to flag', 'delay to enforce', 'spend before enforcement', '× usual hour'], rows },
      { caption: 'Traps', columns: ['trap', 'outcome'], rows: trapRows },
    ],
    problems: [],
  };
});
