import { describe, expect, it } from 'vitest';
import { planEmails } from '../../core/alerts/email-plan.ts';
import { anomalyStep } from '../../core/anomaly/step.ts';
import type { Incident } from '../../core/anomaly/types.ts';

const NOW = Date.parse('2026-12-04T09:00:00.000Z');

const incident = (o: Partial<Incident> = {}): Incident => ({
  id: 'inc-1',
  kind: 'api_key',
  entityId: 'k-42',
  tenant: 'acme',
  pattern: 'burst',
  severity: 'critical',
  score: 12,
  metric: 'cost_usd',
  observed: 38.1,
  expected: 0.4,
  expectedSpread: 0.12,
  startedAt: NOW - 600_000,
  detectedAt: NOW - 540_000,
  updatedAt: NOW - 180_000,
  resolvedAt: NOW,
  windowStart: NOW - 900_000,
  windowEnd: NOW - 600_000,
  explanation: 'api_key k-42 spent $38.10 in 5 min; its usual is $0.40 ± 0.12',
  ...o,
});

const OPTS = { actions: { warning: { type: 'alert' as const }, critical: { type: 'revoke' as const } }, shadow: false, ttlMs: undefined };

describe('anomaly step events', () => {
  it('an incident that resolves names its tenant, so whoever got the anomaly by tenant route gets the resolution', () => {
    const d = anomalyStep(new Map([['inc-1', 'critical']]), { opened: [], updated: [], resolved: [incident()] }, NOW, OPTS);
    expect(d.events).toEqual([
      {
        type: 'anomaly.resolved',
        timestamp: new Date(NOW).toISOString(),
        data: { entity: { kind: 'api_key', id: 'k-42' }, tenant: 'acme', source: 'anomaly', incident_id: 'inc-1', pattern: 'burst', severity: 'critical', reason: 'burst on api_key k-42 is back to normal' },
      },
    ]);
    const plan = planEmails(d.events, { to: [], routes: [{ tenant: 'acme', to: ['acme-admins@example.com'] }], cooldownMs: 0 }, new Map(), NOW);
    expect(plan.mails.map((m) => m.to)).toEqual([['acme-admins@example.com']]);
  });

  it('an incident of an entity without a tenant resolves without one', () => {
    const d = anomalyStep(new Map(), { opened: [], updated: [], resolved: [incident({ tenant: '' })] }, NOW, OPTS);
    expect(d.events[0]!.data).not.toHaveProperty('tenant');
  });
});
