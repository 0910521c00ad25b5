import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createOutbox, type AttemptOutcome, type Sender } from '../../detector/alerts/outbox.ts';
import type { Delivery, OutboxRepo } from '../../store/outbox-repo.ts';
import { waitFor } from '../helpers/wait.ts';

/** The outbox repository's in-memory twin; `down` makes every write fail as a store outage would. */
function memoryRepo() {
  const rows = new Map<string, { d: Delivery; version: number }>();
  const state = { down: false, saves: 0 };
  const repo: OutboxRepo = {
    async save(ds, version) {
      if (state.down) throw new Error('store unavailable');
      state.saves++;
      for (const d of ds) if ((rows.get(d.id)?.version ?? -1) < version) rows.set(d.id, { d, version });
    },
    existing: async (ids) => new Set(ids.filter((id) => rows.has(id))),
    open: async () => [...rows.values()].map((r) => r.d).filter((d) => d.status === 'pending' || d.status === 'failed'),
    get: async (id) => rows.get(id)?.d,
    list: async () => [...rows.values()].map((r) => r.d),
    recentCooldowns: async () => [],
    disabledSubscribers: async () => [],
    setSubscriber: async () => undefined,
  };
  return { repo, state, row: (id: string) => rows.get(id)?.d };
}

function delivery(id: string, target = 'hook'): Delivery {
  const now = Date.now();
  return { id, channel: 'webhook', target, eventType: 'key.revoked', entities: ['api_key:k'], entityIds: ['k'], cooldownKeys: [], payload: '{}', status: 'pending', attempts: 0, nextAttemptAt: now, lastError: '', createdAt: now, updatedAt: now, deliveredAt: null };
}

function outbox(repo: OutboxRepo, send: Sender, maxAttempts = 5, concurrency = 16) {
  return createOutbox({
    repo,
    senders: { webhook: send, slack: send, email: send },
    retry: { maxAttempts, initialMs: 5, maxMs: 20 },
    logger: pino({ level: 'silent' }),
    now: Date.now,
    concurrency,
  });
}

describe('alerts outbox', () => {
  it('sends nothing before the delivery is stored, then sends it once the store is back', async () => {
    const m = memoryRepo();
    const sent: string[] = [];
    const ob = outbox(m.repo, async (d) => {
      sent.push(d.id);
      return { ok: true };
    });
    m.state.down = true;
    await ob.add([delivery('a')]);
    expect(ob.stats()).toMatchObject({ open: 1, unstored: 1 });
    expect(sent).toEqual([]);
    m.state.down = false;
    await waitFor(() => m.row('a')?.status === 'delivered', { what: 'delivered after the store returned' });
    expect(sent).toEqual(['a']);
    await ob.close();
  });

  it('retries a failing receiver with backoff and ends dead after the last attempt, keeping the error', async () => {
    const m = memoryRepo();
    let calls = 0;
    const ob = outbox(m.repo, async (): Promise<AttemptOutcome> => {
      calls++;
      return { ok: false, retriable: true, error: `HTTP 503 #${calls}` };
    }, 3);
    await ob.add([delivery('b')]);
    await waitFor(() => m.row('b')?.status === 'dead', { what: 'dead' });
    expect(m.row('b')).toMatchObject({ attempts: 3, lastError: 'HTTP 503 #3' });
    expect(calls).toBe(3);
    await ob.close();
  });

  it('marks the other deliveries of a receiver that answered 410 dead without trying them', async () => {
    const m = memoryRepo();
    const tried: string[] = [];
    const ob = outbox(m.repo, async (d) => {
      tried.push(d.id);
      return { ok: false, retriable: false, gone: true, error: 'HTTP 410' };
    }, 5, 1);
    await ob.add([delivery('c1'), delivery('c2'), delivery('other', 'elsewhere')]);
    await waitFor(() => ['c1', 'c2', 'other'].every((id) => m.row(id)?.status === 'dead'), { what: 'all dead' });
    expect(tried.filter((id) => id.startsWith('c'))).toHaveLength(1);
    expect(tried).toContain('other');
    await ob.close();
  });

  it('resumes failed deliveries in a new outbox on the same store (a restart), and skips ids it already holds', async () => {
    const m = memoryRepo();
    const first = outbox(m.repo, async () => ({ ok: false, retriable: true, error: 'down' }), 100);
    await first.add([delivery('d')]);
    await waitFor(() => m.row('d')?.status === 'failed', { what: 'failed once' });
    await first.close();
    const sent: string[] = [];
    const second = outbox(m.repo, async (d) => {
      sent.push(d.id);
      return { ok: true };
    });
    expect(await second.start()).toBe(1);
    await waitFor(() => m.row('d')?.status === 'delivered', { what: 'delivered after the restart' });
    expect(await second.add([delivery('d')])).toEqual([]);
    expect(sent).toEqual(['d']);
    await second.close();
  });
});
