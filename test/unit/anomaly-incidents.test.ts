import { describe, expect, it } from 'vitest';
import { incidentId, reconcileIncidents } from '../../core/anomaly/incidents.ts';
import type { Finding } from '../../core/anomaly/types.ts';

const MIN = 60_000;
const T = Date.UTC(2026, 2, 30, 14);

const finding = (p: Partial<Finding> = {}): Finding => ({
  kind: 'api_key',
  id: 'k-42',
  tenant: 't-1',
  pattern: 'burst',
  severity: 'warning',
  score: 5,
  metric: 'cost_usd',
  observed: 10,
  expected: 1,
  expectedSpread: 0.5,
  windowStart: T - 3 * MIN,
  windowEnd: T,
  explanation: 'api_key k-42 spent $10.00 in 3 min; its usual is $1.00 ± 0.50',
  ...p,
});

describe('reconcileIncidents', () => {
  it('opens one incident per (kind, entity, pattern), keeping the strongest finding', () => {
    const r = reconcileIncidents([], [finding(), finding({ score: 9, severity: 'critical' }), finding({ pattern: 'slow_drip' })], T);
    expect(r.opened).toHaveLength(2);
    const burst = r.opened.find((i) => i.pattern === 'burst')!;
    expect(burst).toMatchObject({ kind: 'api_key', entityId: 'k-42', tenant: 't-1', severity: 'critical', score: 9, startedAt: T - 3 * MIN, detectedAt: T, updatedAt: T, resolvedAt: null });
    expect(r.open).toHaveLength(2);
  });

  it('updates while it lasts: max severity and score, latest numbers and window', () => {
    const [inc] = reconcileIncidents([], [finding({ severity: 'critical', score: 12 })], T).opened;
    const r = reconcileIncidents([inc!], [finding({ score: 6, observed: 30, windowStart: T - 2 * MIN, windowEnd: T + MIN })], T + MIN);
    expect(r.opened).toHaveLength(0);
    expect(r.updated[0]).toMatchObject({ id: inc!.id, severity: 'critical', score: 12, observed: 30, windowStart: T - 3 * MIN, windowEnd: T + MIN, updatedAt: T + MIN, detectedAt: T });
  });

  it('resolves only after the quiet period without findings', () => {
    const [inc] = reconcileIncidents([], [finding()], T).opened;
    const early = reconcileIncidents([inc!], [], T + MIN);
    expect(early.resolved).toHaveLength(0);
    expect(early.open).toEqual([inc]);
    const late = reconcileIncidents([inc!], [], T + 2 * MIN);
    expect(late.resolved[0]).toMatchObject({ id: inc!.id, resolvedAt: T + 2 * MIN, updatedAt: T });
    expect(late.open).toHaveLength(0);
    expect(reconcileIncidents([inc!], [], T + 4 * MIN, { quietMs: 5 * MIN }).resolved).toHaveLength(0);
  });

  it('a held pattern (still anomalous, explained by another) keeps its open incident open, and never opens one', () => {
    const [drip] = reconcileIncidents([], [finding({ pattern: 'slow_drip' })], T).opened;
    const held = [{ kind: 'api_key' as const, id: 'k-42', pattern: 'slow_drip' as const }];
    // a burst on the same key explains the drip for five minutes: the drip's incident is not back to normal
    let open = [drip!];
    for (let m = 1; m <= 5; m++) {
      const r = reconcileIncidents(open, [finding({ windowStart: T + m * MIN })], T + m * MIN, { held });
      expect(r.resolved).toEqual([]);
      expect(r.updated.find((i) => i.id === drip!.id)).toMatchObject({ updatedAt: T + m * MIN, observed: drip!.observed, score: drip!.score });
      open = r.open;
    }
    // once nothing holds it, the quiet period applies again
    const later = reconcileIncidents(open.filter((i) => i.pattern === 'slow_drip'), [], T + 7 * MIN);
    expect(later.resolved.map((i) => i.id)).toEqual([drip!.id]);
    expect(reconcileIncidents([], [], T, { held }).opened).toEqual([]);
  });

  it('ids are deterministic: a restart that re-derives the same onset gets the same id', () => {
    const before = reconcileIncidents([], [finding()], T).opened[0]!;
    const afterRestart = reconcileIncidents([], [finding({ windowEnd: T + 5 * MIN, score: 7 })], T + 5 * MIN).opened[0]!;
    expect(afterRestart.id).toBe(before.id);
    expect(before.id).toBe(incidentId('api_key', 'k-42', 'burst', T - 3 * MIN));
    expect(incidentId('api_key', 'k-42', 'slow_drip', T - 3 * MIN)).not.toBe(before.id);
    expect(before.id).toMatch(/^inc_[0-9a-f]{24}$/);
  });

  it('ignores resolved incidents and duplicates in the open list; a new episode gets a new incident', () => {
    const [inc] = reconcileIncidents([], [finding()], T).opened;
    const resolved = { ...inc!, resolvedAt: T + 3 * MIN };
    const r = reconcileIncidents([resolved, inc!, inc!], [finding({ windowStart: T + 9 * MIN })], T + 10 * MIN);
    expect(r.updated).toHaveLength(1);
    const fresh = reconcileIncidents([resolved], [finding({ windowStart: T + 9 * MIN })], T + 10 * MIN);
    expect(fresh.opened[0]!.id).not.toBe(inc!.id);
  });
});
