import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmissionClient } from '../../client/index.ts';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { usageEvent } from '../helpers/events.ts';
import { createTracer } from '../helpers/otel.ts';
import { waitFor } from '../helpers/wait.ts';

// gpt-4o at $2 in / $8 out per million: 1,000 in + 1,000 out is at most $0.01 (cache writes and reasoning default to
// the same rates), and the actual 100 + 100 of a committed call costs $0.001.
const YAML = `
detector: { interval: 200ms }
anomaly: { enabled: false }
pricing:
  overrides: [{ provider: openai, model: gpt-4o, input_per_mtok: 2, output_per_mtok: 8, effective_from: 2020-01-01 }]
policies:
  - name: cap
    scope: api_key
    period: { calendar: day, timezone: UTC }
    limits: { cost_usd: 1 }
    action: revoke
  - name: tenant-watch
    scope: tenant
    period: { calendar: day, timezone: UTC }
    limits: { cost_usd: 0.001 }
    action: alert
`;
const WORST = 0.01;
const USED = 0.945;
const LIMIT = 1;
const ESTIMATE = { model: 'gpt-4o', provider: 'openai', input_tokens: 1000, max_output_tokens: 1000 };

type Answer = { decision: string; reservation_id?: string; ttl: number; remaining?: Record<string, number>; reserved?: Record<string, number>; policy?: string; resets_at?: string; reason?: string; source?: string };

async function admit(t: TestApp, key: string, extra: Record<string, unknown> = {}): Promise<{ status: number; body: Answer }> {
  const res = await fetch(`${t.apiUrl}/v1/admission`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.gatewayToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ entities: [{ kind: 'api_key', id: key }, { kind: 'tenant', id: 'acme' }], estimate: ESTIMATE, ...extra }),
  });
  return { status: res.status, body: (await res.json()) as Answer };
}

async function admitMany(t: TestApp, key: string, n: number, extra: Record<string, unknown> = {}): Promise<Answer[]> {
  const answers = await Promise.all(Array.from({ length: n }, () => admit(t, key, extra)));
  for (const a of answers) expect(a.status).toBe(200);
  return answers.map((a) => a.body);
}

async function release(t: TestApp, id: string) {
  const res = await fetch(`${t.apiUrl}/v1/admission/${id}/release`, { method: 'POST', headers: { authorization: `Bearer ${t.gatewayToken}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as { released: boolean };
}

const nextUtcMidnight = () => new Date(Math.floor(Date.now() / 86_400_000 + 1) * 86_400_000).toISOString();

describe('admission with reservations', () => {
  let t: TestApp;
  const key = 'k-nearly-spent';

  beforeAll(async () => {
    t = await startApp({ yaml: YAML });
    await createUsageRepo(t.app.store).insert([usageEvent({ apiKey: key, tenant: 'acme', costUsd: USED })]);
    // The detector has read the seeded spend: forward-auth reports what is left.
    await waitFor(
      async () => {
        const res = await fetch(`${t.apiUrl}/v1/authorize`, { headers: { authorization: `Bearer ${t.gatewayToken}`, 'x-tollkeeper-api-key': key } });
        await res.body?.cancel();
        return Math.abs(Number(res.headers.get('x-tollkeeper-remaining-cost-usd')) - (LIMIT - USED)) < 1e-9;
      },
      { what: 'the seeded spend read by a tick' },
    );
  });
  afterAll(async () => {
    await t.close({ cleanup: true });
  });

  it('lets exactly as many concurrent calls through as the budget holds at their worst case', async () => {
    const answers = await admitMany(t, key, 100);
    const ok = allowedOf(answers);
    expect(ok).toHaveLength(Math.floor((LIMIT - USED) / WORST + 1e-9));
    // Whatever these calls spend, the committed spend cannot pass the limit.
    expect(USED + ok.length * WORST).toBeLessThanOrEqual(LIMIT + 1e-9);
    for (const a of ok) {
      expect(a.reservation_id).toMatch(/^rsv_/);
      expect(a.ttl).toBe(60);
      expect(a.reserved?.cost_usd).toBeCloseTo(WORST, 9);
    }
    const denied = answers.filter((a) => a.decision !== 'allow');
    expect(denied).toHaveLength(100 - ok.length);
    for (const a of denied) {
      expect(a).toMatchObject({ decision: 'deny', policy: 'cap', source: 'quota', resets_at: nextUtcMidnight(), ttl: 0 });
      expect(a.reason).toContain('cost_usd');
    }
    // An alert-only policy never refuses (the tenant is far past its $0.001).
    expect(Object.keys(ok[0]!.remaining ?? {})).toEqual(['cost_usd']);
  });

  it('a usage span carrying the reservation id commits its actual cost and frees the rest; release frees; ttl expires', async () => {
    // The five calls let through above are still held.
    const ids = await waitFor(() => (t.app.admission?.size === 5 ? t.app.admission.openIds() : undefined), { what: 'five open reservations' });
    const tracer = createTracer(t.otlpUrl, 'protobuf');
    for (const id of ids.slice(0, 3)) {
      tracer.chat({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 100, 'tollkeeper.api_key.id': key, 'tollkeeper.reservation.id': id });
    }
    await tracer.flush();
    await tracer.shutdown();
    await waitFor(() => t.app.admission?.size === 2, { what: 'three reservations committed' });
    // Usage stored while a tick reads may count twice until the next tick (more, never less): let one that began
    // after the rows were stored finish, so the figures below are exact.
    const committedAt = Date.now();
    await waitFor(() => (t.app.loop?.stats.lastOkAt ?? 0) > committedAt, { what: 'a tick begun after the commit' });
    // Left: 1 - 0.945 - 3 × 0.001 (actual) - 2 × 0.01 (still held) = 0.032: three more calls, not four.
    const afterCommit = allowedOf(await admitMany(t, key, 10));
    expect(afterCommit).toHaveLength(3);
    // Releasing two frees $0.02: two more.
    for (const id of ids.slice(3)) expect((await release(t, id)).released).toBe(true);
    expect((await release(t, ids[3]!)).released).toBe(false);
    const afterRelease = allowedOf(await admitMany(t, key, 10));
    expect(afterRelease).toHaveLength(2);
    // Free everything, then hold the budget with reservations that expire after a second.
    for (const a of [...afterCommit, ...afterRelease]) expect((await release(t, a.reservation_id!)).released).toBe(true);
    const short = allowedOf(await admitMany(t, key, 10, { ttl: 1 }));
    expect(short).toHaveLength(5);
    expect((await admit(t, key)).body.decision).toBe('deny');
    await waitFor(async () => (await admit(t, key)).body.decision === 'allow', { what: 'the one-second reservations to expire' });
  });

  it('/v1/authorize admits a request that carries an estimate header: reservation id in a header, refusal with policy and reset', async () => {
    const headers = { authorization: `Bearer ${t.gatewayToken}`, 'x-tollkeeper-api-key': key, 'x-tollkeeper-estimate': 'model=gpt-4o; provider=openai; input_tokens=1000; max_output_tokens=1000' };
    const ids: string[] = [];
    let refusal: { status: number; body: Record<string, unknown>; reason: string | null } | undefined;
    for (let i = 0; i < 10 && !refusal; i++) {
      const res = await fetch(`${t.apiUrl}/v1/authorize`, { headers });
      const body = (await res.json()) as Record<string, unknown>;
      if (res.status === 200) {
        expect(body).toEqual({ decision: 'allow', stale: false });
        ids.push(res.headers.get('x-tollkeeper-reservation-id')!);
        expect(Number(res.headers.get('x-tollkeeper-remaining-cost-usd'))).toBeGreaterThanOrEqual(0);
      } else refusal = { status: res.status, body, reason: res.headers.get('x-tollkeeper-reason') };
    }
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(id).toMatch(/^rsv_/);
    expect(refusal).toMatchObject({ status: 403, body: { decision: 'deny', policy: 'cap', source: 'quota', resets_at: nextUtcMidnight() } });
    expect(refusal?.reason).toMatch(/^deny: .*under policy cap/);
    for (const id of ids) expect((await release(t, id)).released).toBe(true);
    const bad = await fetch(`${t.apiUrl}/v1/authorize`, { headers: { ...headers, 'x-tollkeeper-estimate': 'model=gpt-4o;input_tokens=lots' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain('input_tokens must be a whole number');
  });

  it('the gateway client admits and releases; a wrong token is an error for the gateway to handle', async () => {
    const client = createAdmissionClient({ url: t.apiUrl, token: t.gatewayToken });
    const a = await client.admit([{ kind: 'api_key', id: key }], { model: 'gpt-4o', provider: 'openai', input_tokens: 10, max_output_tokens: 10 }, { ttl: 30 });
    expect(a).toMatchObject({ decision: 'allow', ttl: 30 });
    expect(await client.release(a.reservation_id!)).toBe(true);
    expect(await client.release(a.reservation_id!)).toBe(false);
    await expect(createAdmissionClient({ url: t.apiUrl, token: 'wrong-wrong-wrong' }).admit([{ kind: 'api_key', id: key }], { model: 'gpt-4o' })).rejects.toThrow(/answered 401/);
  });

  it('refuses with a clear 400 when a cost limit applies and the model cannot be priced', async () => {
    const res = await fetch(`${t.apiUrl}/v1/admission`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.gatewayToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ entities: [{ kind: 'api_key', id: key }], estimate: { model: 'no-such-model-xyz', input_tokens: 10 } }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('unpriced_model');
    expect(body.message).toContain('no-such-model-xyz');
  });
});

describe('admission across a restart', () => {
  it('rebuilds open reservations from the store: what was held stays held', async () => {
    let t = await startApp({ yaml: YAML });
    const dataDir = t.dataDir;
    const key = 'k-restart';
    try {
      await createUsageRepo(t.app.store).insert([usageEvent({ apiKey: key, costUsd: USED })]);
      const first = await waitFor(
        async () => {
          const r = await admit(t, key, { ttl: 600 });
          return r.body.decision === 'allow' ? r.body : undefined;
        },
        { what: 'a first tick, then an admission' },
      );
      const rest = allowedOf(await admitMany(t, key, 10, { ttl: 600 }));
      expect(rest).toHaveLength(4);
      await t.close();
      // The same database after the restart (a ClickHouse server holds many; chdb has one per data directory).
      t = await startApp({ yaml: YAML, dataDir, database: t.database });
      // Held after the restart: nothing passes until one is released.
      const after = await waitFor(
        async () => {
          const r = await admit(t, key);
          return r.body.source === 'staleness' ? undefined : r.body;
        },
        { what: 'the first tick after the restart' },
      );
      expect(after).toMatchObject({ decision: 'deny', policy: 'cap' });
      expect(t.app.admission?.size).toBe(5);
      expect((await release(t, first.reservation_id!)).released).toBe(true);
      expect(allowedOf(await admitMany(t, key, 5))).toHaveLength(1);
    } finally {
      await t.close({ cleanup: true });
    }
  });
});

function allowedOf(as: Answer[]): Answer[] {
  return as.filter((a) => a.decision === 'allow');
}

describe('reservations in the store', () => {
  it('finds the reservations whose usage rows are stored (the id kept from the row attributes), and keeps only open ones', async () => {
    const t = await startApp({ yaml: YAML, startLoop: false });
    try {
      const { createReservationsRepo } = await import('../../store/reservations-repo.ts');
      const repo = createReservationsRepo(t.app.store);
      const now = Date.now();
      await createUsageRepo(t.app.store).insert([usageEvent({ apiKey: 'k', costUsd: 0.01, attributes: { 'tollkeeper.reservation.id': 'rsv_a' } }), usageEvent({ apiKey: 'k', costUsd: 0.01 })]);
      expect([...(await repo.committedIds(['rsv_a', 'rsv_b'], now - 60_000))]).toEqual(['rsv_a']);
      const row = { holds: '[]', createdAt: now, expiresAt: now + 60_000 };
      await repo.insert([
        { id: 'rsv_a', state: 'open', ...row, updatedAt: now },
        { id: 'rsv_b', state: 'open', ...row, updatedAt: now },
        { id: 'rsv_b', state: 'released', ...row, holds: '', updatedAt: now + 1 },
        { id: 'rsv_c', state: 'open', ...row, expiresAt: now - 1, updatedAt: now },
      ]);
      expect((await repo.loadOpen(now)).map((r) => r.id)).toEqual(['rsv_a']);
    } finally {
      await t.close({ cleanup: true });
    }
  });
});
