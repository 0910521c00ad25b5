// Fixture data for the dashboard tests: a few hours of usage, incidents, revocations, quota firings and the
// collectors' and detector's health rows, with the totals the panels must show computed from the same data.
import type { UsageEvent } from '../../core/usage/types.ts';
import { createEnforcementRepo } from '../../store/enforcement-repo.ts';
import { createFiringsRepo } from '../../store/firings-repo.ts';
import { createOutboxRepo, type Delivery } from '../../store/outbox-repo.ts';
import { createDetectorStatsRepo, type StatRow } from '../../store/health-stats-repo.ts';
import type { ClickHouse } from '../../store/port.ts';
import { chTime } from '../../store/time.ts';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { usageEvent } from './events.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export interface Fixture {
  /** Start of the usage: two hours of it, in the last few hours before now. */
  start: number;
  range: { fromMs: number; toMs: number };
  events: UsageEvent[];
  keys: string[];
  /** spans_received per collector instance over the whole fixture. */
  spansReceived: Record<string, number>;
  findings: Record<string, number>;
}

export const keyName = (i: number) => `k${String(i).padStart(2, '0')}`;

/**
 * 12 API keys: k01–k06 in tenant acme, k07–k11 in globex, k12 without tenant or agent; odd keys run agent
 * "planner", even ones "coder". One event per key every 5 minutes for 2 hours, $0.01 × key number each; key k03's
 * every other event is an unknown model that could not be priced.
 */
function usage(start: number): UsageEvent[] {
  const out: UsageEvent[] = [];
  for (let i = 1; i <= 12; i++) {
    for (let m = 0; m < 120; m += 5) {
      const unpriced = i === 3 && m % 10 === 5;
      out.push(
        usageEvent({
          time: start + m * MINUTE + i * 1000,
          apiKey: keyName(i),
          tenant: i <= 6 ? 'acme' : i <= 11 ? 'globex' : '',
          agent: i === 12 ? '' : i % 2 === 1 ? 'planner' : 'coder',
          user: `u${i % 4}`,
          model: unpriced ? 'mystery-1' : i % 3 === 0 ? 'claude-sonnet-4' : 'gpt-4o',
          provider: unpriced ? 'acme-ai' : i % 3 === 0 ? 'anthropic' : 'openai',
          inputTokens: 100 * i,
          outputTokens: 10 * i,
          requests: unpriced ? 2 : 1,
          costUsd: unpriced ? 0 : i / 100,
          costSource: unpriced ? 'unpriced' : 'price_db',
        }),
      );
    }
  }
  return out;
}

function entry(action: string, source: string, kind: string, id: string, createdAt: number, expiresAt?: number) {
  const cause = { action, source, reason: `${action} ${kind} ${id} by ${source}`, ref: `ref-${id}`, created_at: new Date(createdAt).toISOString(), ...(expiresAt ? { expires_at: new Date(expiresAt).toISOString() } : {}) };
  return { ...cause, kind, id, causes: [cause] } as never;
}

export async function writeFixture(store: ClickHouse, now: number): Promise<Fixture> {
  const start = Math.floor(now / HOUR) * HOUR - 3 * HOUR;
  const events = usage(start);
  await createUsageRepo(store).insert(events);

  const inc = (id: string, o: { kind: string; entity: string; tenant: string; severity: string; started: number; resolved: number | null }) => ({
    id, version: 1, kind: o.kind, entity: o.entity, tenant: o.tenant, pattern: 'spike', severity: o.severity, score: 12.34, metric: 'cost_usd', observed: 5, expected: 1, expected_spread: 0.5,
    started_at: chTime(o.started), detected_at: chTime(o.started + MINUTE), updated_at: chTime(o.started + 2 * MINUTE), resolved_at: o.resolved === null ? null : chTime(o.resolved),
    window_start: chTime(o.started), window_end: chTime(o.started + 5 * MINUTE), explanation: `spend of ${o.kind} ${o.entity} jumped`, action: 'revoke', shadow: 0,
  });
  await store.insert('incidents', [
    inc('inc-open', { kind: 'api_key', entity: keyName(5), tenant: 'acme', severity: 'critical', started: start + 30 * MINUTE, resolved: null }),
    inc('inc-resolved', { kind: 'api_key', entity: keyName(8), tenant: 'globex', severity: 'warning', started: start + 10 * MINUTE, resolved: start + 40 * MINUTE }),
    inc('inc-old', { kind: 'api_key', entity: keyName(2), tenant: 'acme', severity: 'warning', started: start - 20 * HOUR, resolved: start - 19 * HOUR }),
  ]);

  const log = createEnforcementRepo(store);
  const change = (version: number, at: number, op: 'upsert' | 'remove', kind: string, id: string, e?: never) =>
    log.append([{ version, at, op, kind, id, ...(e ? { entry: e } : {}), actor: 'test', source: 'anomaly', reason: `${op} ${kind} ${id}` }]);
  await change(1, start + 31 * MINUTE, 'upsert', 'api_key', keyName(5), entry('revoke', 'anomaly', 'api_key', keyName(5), start + 31 * MINUTE));
  await change(2, start + 50 * MINUTE, 'upsert', 'api_key', keyName(9), entry('throttle', 'quota', 'api_key', keyName(9), start + 50 * MINUTE, now - MINUTE));
  await change(3, start + 60 * MINUTE, 'upsert', 'tenant', 'globex', entry('revoke', 'manual', 'tenant', 'globex', start + 60 * MINUTE));
  await change(4, start + 70 * MINUTE, 'upsert', 'api_key', keyName(7), entry('revoke', 'manual', 'api_key', keyName(7), start + 70 * MINUTE));
  await change(5, start + 80 * MINUTE, 'remove', 'api_key', keyName(7));

  // Alert deliveries: one webhook delivered, one waiting for a retry (a newer version of its row), one mail dead.
  const delivery = (id: string, channel: Delivery['channel'], status: Delivery['status'], attempts: number): Delivery => ({
    id, channel, target: channel === 'email' ? 'ops@example.com' : 'wh_ops', eventType: 'key.revoked', entities: [`api_key:${keyName(5)}`], entityIds: [keyName(5)], cooldownKeys: [],
    payload: '{}', status, attempts, nextAttemptAt: start + 32 * MINUTE, lastError: status === 'delivered' ? '' : 'connection refused', createdAt: start + 31 * MINUTE, updatedAt: start + 32 * MINUTE, deliveredAt: status === 'delivered' ? start + 31 * MINUTE : null,
  });
  const outbox = createOutboxRepo(store);
  await outbox.save([delivery('d-ok', 'webhook', 'pending', 0), delivery('d-retry', 'webhook', 'pending', 0), delivery('d-mail', 'email', 'pending', 0)], 1);
  await outbox.save([delivery('d-ok', 'webhook', 'delivered', 1), delivery('d-retry', 'webhook', 'failed', 2), delivery('d-mail', 'email', 'dead', 5)], 2);

  const firings = createFiringsRepo(store);
  await firings.record([{ policy: 'daily-spend', scope: 'api_key', entity: keyName(1), periodKey: '2026-12-03', threshold: 0.5, firedAt: start + 20 * MINUTE }]);
  await firings.record([{ policy: 'daily-spend', scope: 'api_key', entity: keyName(1), periodKey: '2026-12-03', threshold: 0.8, firedAt: start + 50 * MINUTE }]);
  await firings.record([{ policy: 'monthly', scope: 'tenant', entity: 'acme', periodKey: '2026-12', threshold: 1, firedAt: start + 70 * MINUTE }]);

  // One hour of health rows every 10 s: collector c1 takes twice c2's traffic; the detector finds a spike each minute.
  const ingest: StatRow[] = [];
  const detector: StatRow[] = [];
  const spansReceived: Record<string, number> = { c1: 0, c2: 0 };
  const findings: Record<string, number> = {};
  for (let t = start; t < start + HOUR; t += 10_000) {
    for (const [instance, n] of [['c1', 100], ['c2', 50]] as const) {
      const row = (name: string, value: number, label = '') => ingest.push({ ts: t, instance, name, label, value });
      row('spans_received', n);
      row('events_accepted', n - 10);
      row('spans_ignored', 6);
      row('spans_rejected', 3, 'too_old');
      row('spans_rejected', 1, 'bad_counts');
      row('spool_bytes', instance === 'c1' ? 4096 : 0);
      row('spool_files', instance === 'c1' ? 1 : 0);
      row('dead_events', 0);
      row('writer_queue', n);
      row('writer_lag_ms', instance === 'c1' ? 250 : 120);
      row('unrecognized_usage_attribute', 1, 'llm.usage.weird');
      spansReceived[instance]! += n;
    }
    const d = (name: string, value: number, label = '') => detector.push({ ts: t, instance: 'd1', name, label, value });
    d('ticks', 10);
    d('tick_failures', (t - start) % HOUR === 30 * MINUTE ? 1 : 0);
    d('tick_duration_ms', 40 + ((t - start) / 10_000) % 7);
    d('entities_scored', 500);
    if ((t - start) % MINUTE === 0) {
      const label = (t - start) % (10 * MINUTE) === 0 ? 'spike/critical' : 'spike/warning';
      d('findings', 1, label);
      findings[label] = (findings[label] ?? 0) + 1;
    }
  }
  const chSec = (r: StatRow) => ({ ...r, ts: chTime(r.ts).slice(0, 19) });
  await store.insert('ingest_stats', ingest.map(chSec));
  await createDetectorStatsRepo(store).insert(detector);

  return { start, range: { fromMs: start - HOUR, toMs: now }, events, keys: Array.from({ length: 12 }, (_, i) => keyName(i + 1)), spansReceived, findings };
}
