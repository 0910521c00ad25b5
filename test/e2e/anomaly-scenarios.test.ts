/**
 * The labelled denial-of-wallet scenarios end to end: the seeded simulator's traffic becomes real OTel spans
 * (back-dated history, then live minutes), goes through the collector into ClickHouse, and the detector, ticked once
 * per simulated step on a fake clock, must flag every attack as critical with the right pattern (and revoke it) —
 * a tenant spike as at least a warning: a moderate tenant-wide rise is revoked only when its money at risk says so —
 * while no false-positive trap goes critical. Prints precision, recall and detection delay per pattern, and writes
 * them to a JSON file under the OS temp directory (test/helpers/e2e-scenario-report.ts).
 *
 * Scale: one span per request, so the scenarios run at `e2eScenarios()` scale (quieter keys than the pure suite's
 * `scenarios()`; see sim-spans.ts). Each is also run through the pure detector as a control.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ReplayIncident } from '../../core/anomaly/replay.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { report, type E2eRun, type RevocationEntry } from '../helpers/e2e-scenario-report.ts';
import { createSpanSender, e2eBusyConversation, e2eScenarios, entityTotals, scenarioSpans, type E2eScenario, type EntityTotals } from '../helpers/sim-spans.ts';
import { HOUR, MIN, outcomeOf, runScenario, type ScenarioOutcome } from '../helpers/traffic-sim.ts';
import { waitFor } from '../helpers/wait.ts';

/** Ticks land 45 s into their minute, as in the pure suite (the current minute is partly observed). */
const TICK_OFFSET_MS = 45_000;
/** The detector's per-minute window: minutes before the first tick are sent at minute resolution this far back. */
const OBSERVED_MINUTES = 360;

interface IncidentView {
  id: string;
  entity: { kind: ReplayIncident['kind']; id: string };
  tenant: string | null;
  pattern: ReplayIncident['pattern'];
  severity: ReplayIncident['severity'];
  score: number;
  metric: ReplayIncident['metric'];
  observed: number;
  expected: number;
  expected_spread: number;
  window: { start: string; end: string };
  started_at: string;
  detected_at: string;
  updated_at: string;
  resolved_at: string | null;
  explanation: string;
}

function toIncident(v: IncidentView, criticalAt: number | null): ReplayIncident {
  return {
    id: v.id,
    kind: v.entity.kind,
    entityId: v.entity.id,
    tenant: v.tenant ?? '',
    pattern: v.pattern,
    severity: v.severity,
    score: v.score,
    metric: v.metric,
    observed: v.observed,
    expected: v.expected,
    expectedSpread: v.expected_spread,
    startedAt: Date.parse(v.started_at),
    detectedAt: Date.parse(v.detected_at),
    updatedAt: Date.parse(v.updated_at),
    resolvedAt: v.resolved_at === null ? null : Date.parse(v.resolved_at),
    windowStart: Date.parse(v.window.start),
    windowEnd: Date.parse(v.window.end),
    explanation: v.explanation,
    criticalAt,
  };
}

async function getJson<T>(t: TestApp, path: string, token: string): Promise<T> {
  const res = await fetch(`${t.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

/** Per-entity totals in the per-minute rollup, keyed `kind:id` as `entityTotals` keys them. */
async function storedTotals(t: TestApp): Promise<Map<string, EntityTotals>> {
  const rows = await t.app.store.query<{ k: string } & EntityTotals>(
    `SELECT concat(kind, ':', entity) AS k, toFloat64(sum(requests)) AS requests, toFloat64(sum(tool_calls)) AS tools,
            toFloat64(sum(input_tokens) + sum(output_tokens)) AS tokens, sum(cost_usd) AS cost
     FROM ${t.app.store.table('usage_minute')} WHERE kind IN ('api_key', 'tenant', 'agent', 'conversation') GROUP BY kind, entity`,
  );
  return new Map(rows.map(({ k, ...v }) => [k, { requests: Number(v.requests), tools: Number(v.tools), tokens: Number(v.tokens), cost: Number(v.cost) }]));
}

/** Runs one scenario through a fresh app: history, then one detector tick per simulated step. */
async function runE2e(s: E2eScenario): Promise<E2eRun> {
  const started = performance.now();
  const ticks: number[] = [];
  for (let t = s.evalFrom; t <= s.evalTo; t += s.tickEveryMin * MIN) ticks.push(t + TICK_OFFSET_MS);
  const minutesFrom = Math.floor((Math.floor(s.evalFrom / MIN) * MIN - OBSERVED_MINUTES * MIN) / HOUR) * HOUR;
  const spans = scenarioSpans(s, s.historyFrom, minutesFrom, ticks[ticks.length - 1]! + MIN);
  let clock = ticks[0]!;
  const yaml = [
    // Only manual ticks: one per simulated step.
    'detector: { interval: 1h }',
    'ingest: { flush_interval: 5ms, batch_size: 20000 }',
    `anomaly: { scopes: [${s.scopes.join(', ')}], actions: { warning: alert, critical: revoke } }`,
    s.yaml,
  ].join('\n');
  const t = await startApp({ yaml, startLoop: false, now: () => clock });
  const sender = createSpanSender(t.otlpUrl);
  try {
    const events = t.app.store.table('usage_events');
    let next = 0;
    let ingestMs = 0;
    let tickMs = 0;
    /** Sends every span that has ended by `now` and waits until ClickHouse holds all of them. */
    const sendUntil = async (now: number): Promise<void> => {
      let end = next;
      while (end < spans.length && spans[end]!.end <= now) end++;
      if (end === next) return;
      const t0 = performance.now();
      await sender.send(spans.slice(next, end));
      next = end;
      await waitFor(async () => (await t.app.store.query<{ n: number }>(`SELECT count() AS n FROM ${events}`))[0]!.n >= next, {
        what: `${next} usage events stored`,
        timeoutMs: 60_000,
        intervalMs: 10,
      });
      ingestMs += performance.now() - t0;
    };
    await sendUntil(clock);
    const criticalAt = new Map<string, number>();
    for (const tick of ticks) {
      clock = tick;
      await sendUntil(tick);
      const t0 = performance.now();
      await t.app.loop!.tickNow();
      const { incidents } = await getJson<{ incidents: IncidentView[] }>(t, '/api/incidents?severity=critical&limit=1000', t.adminToken);
      for (const inc of incidents) if (!criticalAt.has(inc.id)) criticalAt.set(inc.id, tick);
      tickMs += performance.now() - t0;
    }
    expect(t.app.ingest!.counters.spansRejected, 'spans rejected by the collector').toBe(0);
    const stored = await storedTotals(t);
    const expected = entityTotals(spans.slice(0, next));
    expect([...stored.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [k, e] of expected) {
      const got = stored.get(k)!;
      expect({ k, requests: got.requests, tools: got.tools, tokens: got.tokens }).toEqual({ k, requests: e.requests, tools: e.tools, tokens: e.tokens });
      expect(got.cost, `${k} cost`).toBeCloseTo(e.cost, 6);
    }
    expect(t.app.loop!.stats.failures, 'detector job failures').toBe(0);
    const { incidents } = await getJson<{ incidents: IncidentView[] }>(t, '/api/incidents?limit=1000', t.adminToken);
    const { entries } = await getJson<{ entries: RevocationEntry[] }>(t, '/v1/revocations', t.gatewayToken);
    const outcome = outcomeOf(s, incidents.map((v) => toIncident(v, criticalAt.get(v.id) ?? null)));
    return { scenario: s, outcome, pure: runScenario(s), revoked: entries, spans: spans.length, ticks: ticks.length, seconds: (performance.now() - started) / 1000, ingestSeconds: ingestMs / 1000, tickSeconds: tickMs / 1000 };
  } finally {
    await sender.shutdown();
    await t.close({ cleanup: true });
  }
}

const describeIncidents = (o: ScenarioOutcome): string =>
  o.incidents.map((i) => `${i.criticalAt === null ? 'warning ' : 'critical'} ${i.pattern} ${i.kind}:${i.id} (${i.verdict}) — ${i.explanation}`).join('\n') || '(no incidents)';

const scenarios = e2eScenarios();
const runs: E2eRun[] = [];
// Generous: a loaded CI box can be several times slower than the ~10–25 s a scenario takes here.
const SLOW = 240_000;

describe('labelled denial-of-wallet scenarios through OTel SDK → collector → ClickHouse → detector', () => {
  afterAll(() => {
    if (runs.length > 0) report(runs);
  });

  it.each(scenarios.filter((s) => s.label !== 'trap').map((s) => [s.name, s] as const))('attack: %s', async (_name, s) => {
    const run = await runE2e(s);
    runs.push(run);
    const o = run.outcome;
    expect(o.delayMin, describeIncidents(o)).not.toBeNull();
    expect(o.delayMin!, describeIncidents(o)).toBeLessThanOrEqual(s.boundMin!);
    expect(o.incidents.filter((i) => i.criticalAt !== null && i.verdict === 'false_positive'), describeIncidents(o)).toEqual([]);
    // critical → revoke (the default action): every entity caught with the right name is on the revocation list.
    const caught = o.incidents.filter((i) => i.verdict === 'true_positive' && i.criticalAt !== null);
    const listed = new Set(run.revoked.filter((e) => e.source === 'anomaly' && e.action === 'revoke').map((e) => `${e.kind}:${e.id}`));
    for (const i of caught) expect(listed, `${i.kind}:${i.id} revoked`).toContain(`${i.kind}:${i.id}`);
  }, SLOW);

  it.each(scenarios.filter((s) => s.label === 'trap').map((s) => [s.name, s] as const))('%s', async (_name, s) => {
    const run = await runE2e(s);
    runs.push(run);
    expect(run.outcome.incidents.filter((i) => i.criticalAt !== null), describeIncidents(run.outcome)).toEqual([]);
    expect(run.revoked, 'nothing enforced').toEqual([]);
  }, SLOW);
});

describe('a busy but ordinary conversation (kinds without history take peers from the whole 6-hour window)', () => {
  // Conversations never build baselines; their peers come from every conversation seen in the observation window,
  // not only those active in the last 30 minutes (with fewer than 5 of those, a busy one used to look infinite).
  const s = e2eBusyConversation();

  it('the pure detector does not flag the busy conversation', () => {
    expect(runScenario(s).incidents.filter((i) => i.criticalAt !== null)).toEqual([]);
  });

  it('nor does the pipeline', async () => {
    const run = await runE2e(s);
    expect(run.outcome.incidents.filter((i) => i.criticalAt !== null), describeIncidents(run.outcome)).toEqual([]);
    expect(run.revoked).toEqual([]);
  }, SLOW);
});
