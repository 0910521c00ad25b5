import { describe, expect, it } from 'vitest';
import { buildBaseline, entityKey } from '../../core/anomaly/baseline.ts';
import { resolveAnomalyConfig } from '../../core/anomaly/config.ts';
import type { AnomalyConfigInput } from '../../core/anomaly/config.ts';
import { detect, emptyDetectorState } from '../../core/anomaly/detect.ts';
import type { DetectInput } from '../../core/anomaly/detect.ts';
import { buildPeerBaseline, peerBaselineFromObservations } from '../../core/anomaly/peers.ts';
import { METRICS } from '../../core/anomaly/types.ts';
import type { Baseline, DetectorState, EntityObservation, Finding, Metric, PeerBaseline } from '../../core/anomaly/types.ts';
import type { EntityKind } from '../../core/usage/types.ts';
import { mix, mulberry32, poisson } from '../helpers/traffic-sim.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 2, 30, 14, 0, 45); // current minute 14:00, 75 % elapsed
const FRAC = 0.75;

interface Profile {
  requests: number;
  cost?: number; // per request
  tools?: number; // tool calls per request
}
type Minute = Partial<Record<Metric, number>>;

/** 28 days of hourly history at a steady rate (±10 % hour to hour), ending the hour before `now`. */
function baselineFor(kind: EntityKind, id: string, p: Profile, now = NOW): Baseline {
  const end = Math.floor(now / HOUR) * HOUR;
  const hourly = Object.fromEntries(METRICS.map((m) => [m, [] as number[]])) as Record<Metric, number[]>;
  const r = mulberry32(mix(id.length, p.requests * 1000));
  for (let h = 0; h < 28 * 24; h++) {
    const req = Math.round(p.requests * 60 * (0.9 + 0.2 * r()));
    hourly.requests.push(req);
    hourly.cost_usd.push(req * (p.cost ?? 0.01));
    hourly.tokens.push(req * 1000);
    hourly.tool_calls.push(Math.round(req * (p.tools ?? 0)));
  }
  return buildBaseline({ kind, id, hourStart: end - 28 * DAY, hourly }, end);
}

/** 360 minutes ending in the current (partial) minute; `at(i)` overrides minute i (0 = current, -1 = previous…). */
function observe(kind: EntityKind, id: string, tenant: string, p: Profile, at: (i: number) => Minute | undefined = () => undefined, now = NOW): EntityObservation {
  const cur = Math.floor(now / MIN) * MIN;
  const series = Object.fromEntries(METRICS.map((m) => [m, [] as number[]])) as Record<Metric, number[]>;
  for (let i = -359; i <= 0; i++) {
    const r = mulberry32(mix(id.length, i + 1000, 7));
    const req = poisson(r, p.requests);
    const normal: Record<Metric, number> = { requests: req, cost_usd: req * (p.cost ?? 0.01), tokens: req * 1000, tool_calls: Math.round(req * (p.tools ?? 0)) };
    const v = { ...normal, ...at(i) };
    const scale = i === 0 ? (now - cur) / MIN : 1;
    for (const m of METRICS) series[m].push(v[m] * scale);
  }
  return { kind, id, tenant, minuteStart: cur - 359 * MIN, series };
}

const flood = (requests: number, cost: number): Minute => ({ requests, cost_usd: requests * cost, tokens: requests * 1000 });

function run(observations: EntityObservation[], baselines: Baseline[], cfg: AnomalyConfigInput = {}, extra: Partial<DetectInput> = {}, state: DetectorState = emptyDetectorState()) {
  const peers = new Map<EntityKind, PeerBaseline>();
  return detect(state, {
    now: NOW,
    observations,
    baselines: new Map(baselines.map((b) => [entityKey(b.kind, b.id), b])),
    peers,
    config: resolveAnomalyConfig(cfg),
    ...extra,
  });
}

const only = (fs: Finding[], pattern: string): Finding[] => fs.filter((f) => f.pattern === pattern);

describe('burst', () => {
  const p = { requests: 2, cost: 0.01 };
  it('a leaked key flooding for 2 minutes is a critical burst with onset, window and explanation', () => {
    const o = observe('api_key', 'k-42', 't-1', p, (i) => (i >= -1 ? flood(100, 0.05) : undefined));
    const { findings } = run([o], [baselineFor('api_key', 'k-42', p)]);
    expect(findings).toHaveLength(1);
    const f = findings[0]!;
    expect(f).toMatchObject({ kind: 'api_key', id: 'k-42', tenant: 't-1', pattern: 'burst', severity: 'critical', windowEnd: NOW });
    expect(f.windowStart).toBe(Math.floor(NOW / MIN) * MIN - MIN);
    expect(f.observed).toBeGreaterThan(f.expected * 20);
    expect(f.explanation).toMatch(/^api_key k-42 (spent|made|used) .+ in 2 min; its usual is .+ ± .+$/);
  });

  it('3× is not a burst (that is slow_drip territory)', () => {
    const o = observe('api_key', 'k', 't', p, (i) => (i >= -4 ? flood(6, 0.01) : undefined));
    expect(only(run([o], [baselineFor('api_key', 'k', p)]).findings, 'burst')).toHaveLength(0);
  });

  it('never alerts below the floors; a requests floor lets cheap floods through', () => {
    const tiny = { requests: 0.02, cost: 0.0005 };
    const o = observe('api_key', 'k', 't', tiny, (i) => (i >= -1 ? flood(40, 0.0005) : undefined)); // $0.02/min
    expect(run([o], [baselineFor('api_key', 'k', tiny)]).findings).toHaveLength(0);
    const withFloor = run([o], [baselineFor('api_key', 'k', tiny)], { floors: { requests_per_minute: 10 } });
    expect(only(withFloor.findings, 'burst')).toHaveLength(1);
  });

  it('a single expensive request is not a burst', () => {
    const quiet = { requests: 0.05, cost: 0.004 };
    const o = observe('api_key', 'k', 't', quiet, (i) => (i === 0 ? { requests: 1, cost_usd: 6, tokens: 200_000 } : { requests: 0, cost_usd: 0, tokens: 0 }));
    expect(run([o], [baselineFor('api_key', 'k', quiet)]).findings).toHaveLength(0);
  });

  it('a brand-new key is compared with its peers, or with the floor when there are none', () => {
    const peers = Array.from({ length: 10 }, (_, i) => baselineFor('api_key', `peer-${i}`, { requests: 1 + i, cost: 0.01 }));
    const o = observe('api_key', 'k-new', 't', { requests: 0 }, (i) => (i >= -1 ? flood(60, 0.05) : undefined));
    const peer = buildPeerBaseline('api_key', peers)!;
    const withPeers = detect(emptyDetectorState(), { now: NOW, observations: [o], baselines: new Map(), peers: new Map([['api_key', peer]]), config: resolveAnomalyConfig() });
    expect(withPeers.findings[0]).toMatchObject({ pattern: 'burst', severity: 'critical' });
    expect(withPeers.findings[0]!.explanation).toContain('a busy api_key');
    const cold = run([o], []);
    expect(cold.findings[0]).toMatchObject({ pattern: 'burst', severity: 'critical' });
    expect(cold.findings[0]!.explanation).toContain('no history');
  });

  it('kinds outside anomaly.scopes are not reported', () => {
    const o = observe('api_key', 'k', 't', p, (i) => (i >= -1 ? flood(100, 0.05) : undefined));
    expect(run([o], [baselineFor('api_key', 'k', p)], { scopes: ['tenant'] }).findings).toHaveLength(0);
  });
});

describe('runaway_loop', () => {
  const conversations = Array.from({ length: 12 }, (_, k) =>
    observe('conversation', `c-${k}`, 't', { requests: 0, tools: 1 }, (i) => (i > -40 - 20 * k && i <= -30 - 20 * k ? flood(1 + (k % 3), 0.01) : undefined)),
  );
  const peersOf = (obs: EntityObservation[]) => new Map<EntityKind, PeerBaseline>([['conversation', peerBaselineFromObservations('conversation', obs)!]]);
  const cfg = resolveAnomalyConfig({ scopes: ['conversation'] });

  it('a conversation calling a tool 20×/min, steadily, for 12 minutes is a runaway loop', () => {
    const loop = observe('conversation', 'c-loop', 't', { requests: 0 }, (i) => (i >= -12 ? { ...flood(20, 0.01), tool_calls: 20 } : undefined));
    const obs = [...conversations, loop];
    const { findings } = detect(emptyDetectorState(), { now: NOW, observations: obs, baselines: new Map(), peers: peersOf(obs), config: cfg });
    const f = only(findings, 'runaway_loop');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ id: 'c-loop', severity: 'critical' });
    expect(f[0]!.windowStart).toBe(Math.floor(NOW / MIN) * MIN - 12 * MIN);
    expect(f[0]!.explanation).toMatch(/at a steady 20\.\d\/min \(CV 0\.0\d\)/);
  });

  it('an agent in a steady loop is critical only when its money at risk is large', () => {
    const agentP = { requests: 2, cost: 0.003, tools: 1 }; // $0.36/h
    const loop = (cost: number) => observe('agent', 'a-1', 't', agentP, (i) => (i >= -12 ? { ...flood(20, cost), tool_calls: 20 } : undefined));
    const b = [baselineFor('agent', 'a-1', agentP)];
    const cfgAgent = { scopes: ['agent' as const] };
    // 10× its calls at its usual price: $3.60/h, a clear loop by score, under $5/h by money
    const cheap = only(run([loop(0.003)], b, cfgAgent).findings, 'runaway_loop');
    expect(cheap.map((f) => f.severity)).toEqual(['warning']);
    expect(cheap[0]!.score).toBeGreaterThanOrEqual(8);
    // the same loop at $0.05 a call: $60/h, 500× its usual hour
    expect(only(run([loop(0.05)], b, cfgAgent).findings, 'runaway_loop').map((f) => f.severity)).toEqual(['critical']);
  });

  it('the same volume with irregular minutes is not a loop', () => {
    const irregular = observe('conversation', 'c-busy', 't', { requests: 0 }, (i) => (i >= -12 ? { ...flood(i % 2 === 0 ? 5 : 35, 0.01), tool_calls: i % 2 === 0 ? 35 : 5 } : undefined));
    const obs = [...conversations, irregular];
    const { findings } = detect(emptyDetectorState(), { now: NOW, observations: obs, baselines: new Map(), peers: peersOf(obs), config: cfg });
    expect(only(findings, 'runaway_loop')).toHaveLength(0);
  });
});

describe('slow_drip', () => {
  const p = { requests: 3, cost: 0.02 };
  it('3× for 2.5 hours is a critical slow drip; 3× for 30 minutes is not', () => {
    const long = observe('api_key', 'k', 't', p, (i) => (i >= -150 ? flood(9, 0.02) : undefined));
    const f = only(run([long], [baselineFor('api_key', 'k', p)]).findings, 'slow_drip');
    expect(f[0]).toMatchObject({ severity: 'critical' });
    expect(Math.abs(f[0]!.windowStart - (Math.floor(NOW / MIN) * MIN - 150 * MIN))).toBeLessThanOrEqual(3 * MIN);
    expect(f[0]!.explanation).toMatch(/in 2 h 3\d min, a persistent 3\.\d× excess/);
    const short = observe('api_key', 'k', 't', p, (i) => (i >= -30 ? flood(9, 0.02) : undefined));
    expect(only(run([short], [baselineFor('api_key', 'k', p)]).findings, 'slow_drip')).toHaveLength(0);
  });
});

describe('tenant_spike', () => {
  const keyP = { requests: 2, cost: 0.01 }; // $0.02/min per key: below the floor on its own
  const tenantP = { requests: 20, cost: 0.01 };
  const baselines = [baselineFor('tenant', 't-1', tenantP), ...Array.from({ length: 10 }, (_, k) => baselineFor('api_key', `k-${k}`, keyP))];

  it('the tenant triples while no key stands out: a warning, its money at risk ($36/h vs $12/h) is moderate', () => {
    const keys = Array.from({ length: 10 }, (_, k) => observe('api_key', `k-${k}`, 't-1', keyP, (i) => (i >= -4 ? flood(6, 0.01) : undefined)));
    const tenant = observe('tenant', 't-1', '', tenantP, (i) => (i >= -4 ? flood(60, 0.01) : undefined));
    const { findings } = run([tenant, ...keys], baselines);
    expect(findings.map((f) => `${f.kind}:${f.pattern}:${f.severity}`)).toEqual(['tenant:tenant_spike:warning']);
    // The score alone would have made it critical: a tenant is revoked only when its money at risk says so.
    expect(findings[0]!.score).toBeGreaterThanOrEqual(8);
    expect(findings[0]!.explanation).toContain('none of its api_keys stood out');
  });

  it('a tenant whose money at risk is large (over 20× its usual hour and over $5/h) is critical', () => {
    // every key at 3× the calls and 20× the price: the tenant spends $720/h against its usual $12/h
    const keys = Array.from({ length: 10 }, (_, k) => observe('api_key', `k-${k}`, 't-1', keyP, (i) => (i >= -4 ? flood(6, 0.2) : undefined)));
    const tenant = observe('tenant', 't-1', '', tenantP, (i) => (i >= -4 ? flood(60, 0.2) : undefined));
    const spike = run([tenant, ...keys], baselines).findings.filter((f) => f.kind === 'tenant');
    expect(spike.map((f) => `${f.pattern}:${f.severity}`)).toEqual(['tenant_spike:critical']);
    expect(spike[0]!.projectedHourlyUsd!).toBeGreaterThan(20 * spike[0]!.usualHourlyUsd!);
    expect(spike[0]!.projectedHourlyUsd!).toBeGreaterThan(5);
  });

  it('is explained away when one key carries the excess (that key gets the burst)', () => {
    const keys = Array.from({ length: 10 }, (_, k) => observe('api_key', `k-${k}`, 't-1', keyP, (i) => (k === 3 && i >= -4 ? flood(42, 0.05) : undefined)));
    const tenant = observe('tenant', 't-1', '', tenantP, (i) => (i >= -4 ? { requests: 60, cost_usd: 2.28, tokens: 60_000 } : undefined));
    const { findings } = run([tenant, ...keys], baselines);
    expect(findings.map((f) => `${f.kind}:${f.id}:${f.pattern}`)).toEqual(['api_key:k-3:burst']);
  });
});

describe('false-positive guards', () => {
  it('demand held back until a quota period reset may come back at once', () => {
    const now = Date.UTC(2026, 2, 31, 0, 3, 45);
    const p = { requests: 2, cost: 0.02 };
    // blocked (zero) for the last 5 hours of the day, then a catch-up surge right after midnight
    const o = observe('api_key', 'k', 't', p, (i) => (i >= -3 ? flood(25, 0.02) : i >= -300 ? flood(0, 0) : undefined), now);
    const input = (periodResets?: number[]): DetectInput => ({
      now,
      observations: [o],
      baselines: new Map([[entityKey('api_key', 'k'), baselineFor('api_key', 'k', p, now)]]),
      peers: new Map(),
      config: resolveAnomalyConfig(),
      ...(periodResets ? { periodResets } : {}),
    });
    expect(detect(emptyDetectorState(), input()).findings.filter((f) => f.severity === 'critical')).toHaveLength(0);
    expect(detect(emptyDetectorState(), input([])).findings.filter((f) => f.severity === 'critical')).not.toHaveLength(0);
  });
});

describe('detector state and purity', () => {
  const p = { requests: 2, cost: 0.01 };
  const o = observe('api_key', 'k', 't', p, (i) => (i >= -1 ? flood(12, 0.03) : undefined));
  const b = baselineFor('api_key', 'k', p);

  it('hysteresis: a condition seen within the last minutes keeps a lower warning bar', () => {
    const score = run([o], [b], { thresholds: { warning: 0.1, critical: 1000 } }).findings[0]!.score;
    // Money at risk would make this flood critical on its own; this test is about the score's warning bar.
    const cfg = { thresholds: { warning: score / 0.9, critical: 1000 }, criticalSpend: { minUsdPerHour: 1e9 } };
    const fresh = run([o], [b], cfg);
    expect(fresh.findings).toHaveLength(0);
    const active: DetectorState = { version: 1, active: { 'api_key\u0000k\u0000burst': NOW - MIN } };
    const again = run([o], [b], cfg, {}, active);
    expect(again.findings[0]).toMatchObject({ pattern: 'burst', severity: 'warning' });
    expect(again.state.active['api_key\u0000k\u0000burst']).toBe(NOW);
    const stale: DetectorState = { version: 1, active: { 'api_key\u0000k\u0000burst': NOW - HOUR } };
    expect(run([o], [b], cfg, {}, stale).state.active).toEqual({});
  });

  it('does not mutate its inputs, and its state survives JSON', () => {
    const deepFreeze = <T>(x: T): T => {
      if (x && typeof x === 'object') {
        Object.values(x).forEach(deepFreeze);
        Object.freeze(x);
      }
      return x;
    };
    const obs = deepFreeze(observe('api_key', 'k', 't', p, (i) => (i >= -1 ? flood(100, 0.05) : undefined)));
    const r = run([obs], [deepFreeze(baselineFor('api_key', 'k', p))], {}, {}, deepFreeze(emptyDetectorState()));
    expect(r.findings).toHaveLength(1);
    expect(JSON.parse(JSON.stringify(r.state))).toEqual(r.state);
  });

  it('tolerates a foreign or empty state', () => {
    const o2 = observe('api_key', 'k', 't', p, (i) => (i >= -1 ? flood(100, 0.05) : undefined));
    expect(run([o2], [b], {}, {}, {} as DetectorState).findings).toHaveLength(1);
  });

  it('tolerates garbage in the series', () => {
    const bad = observe('api_key', 'k', 't', p, (i) => (i === -5 ? { requests: Number.NaN, cost_usd: -3 } : undefined));
    const r = run([bad], [b]);
    for (const f of r.findings) expect(Number.isFinite(f.score)).toBe(true);
    expect(run([{ ...bad, series: { requests: [], cost_usd: [], tokens: [], tool_calls: [] } }], [b]).findings).toEqual([]);
  });

  it('the partial current minute counts for its elapsed part only', () => {
    expect(FRAC).toBe(0.75);
    // 100 requests in the first 45 s of the minute is the same rate as 133/min
    const o2 = observe('api_key', 'k', 't', p, (i) => (i === 0 ? flood(133, 0.05) : undefined));
    const f = run([o2], [b]).findings[0]!;
    expect(f.windowEnd).toBe(NOW);
    expect(f.observed).toBeGreaterThan(100 * 0.05 * 0.9);
  });
});
