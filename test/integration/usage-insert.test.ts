import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createBatchWriter } from '../../collector/batch-writer.ts';
import { openSpool } from '../../collector/spool.ts';
import type { UsageEvent } from '../../core/usage/types.ts';
import { fromChTime } from '../../store/time.ts';
import { usageEvent } from '../helpers/events.ts';
import { openTestStore, removeTestStores } from '../helpers/test-store.ts';

afterAll(() => removeTestStores());

/** Text that JSON and ClickHouse both have opinions about. */
const HOSTILE = ['quote " and \\ backslash', 'tab\tnew\nline', 'émoji 🚀 and 中文', "single ' quote", '\u0000nul', '[1,"a"]{}'];

function tricky(i: number, time: number): UsageEvent {
  const s = HOSTILE[i % HOSTILE.length]!;
  return usageEvent({
    apiKey: `k-${i}-${s}`,
    user: s,
    tenant: 'tenant',
    agent: s.slice(0, 3),
    spanName: s,
    attributes: { [s]: s, plan: 'free' },
    time: time + (i % 3 === 0 ? 5 : i % 3 === 1 ? 50 : 500), // .005, .050 and .500: milliseconds keep their zeros
    startTime: time - 1234,
    inputTokens: 1_000_000_000_000 + i,
    outputTokens: i,
    computeSeconds: 0.125,
    costUsd: 1e-9 * (i + 1),
    spanCost: i % 2 === 0 ? null : 0.5,
  });
}

interface Row {
  event_id: string;
  api_key: string;
  user: string;
  agent: string;
  span_name: string;
  attributes: Record<string, string>;
  time: string;
  start_time: string;
  input_tokens: number;
  output_tokens: number;
  compute_seconds: number;
  cost_usd: number;
  span_cost: number | null;
}

describe.each([
  { path: 'chdb raw insert (embedded)', rawInsert: true },
  { path: 'the client exec path (what a server gets)', rawInsert: false },
])('encoded usage insert through $path', ({ rawInsert }) => {
  it('stores every field exactly as the event holds it', async () => {
    const ts = await openTestStore({ rawInsert });
    try {
      const time = Date.parse('2026-03-29T00:59:59.000Z');
      const events = Array.from({ length: 12 }, (_, i) => tricky(i, time));
      await ts.repo.insert(events);
      const rows = await ts.store.query<Row>(
        `SELECT event_id, api_key, user, agent, span_name, attributes, time, start_time, input_tokens, output_tokens, compute_seconds, cost_usd, span_cost FROM ${ts.store.table('usage_events')} ORDER BY event_id`,
      );
      expect(rows).toHaveLength(events.length);
      const byId = new Map(rows.map((r) => [r.event_id, r]));
      for (const e of events) {
        const r = byId.get(e.eventId)!;
        expect(r).toMatchObject({ api_key: e.apiKey, user: e.user, agent: e.agent, span_name: e.spanName, attributes: e.attributes });
        expect(fromChTime(r.time)).toBe(e.time);
        expect(fromChTime(r.start_time)).toBe(e.startTime);
        expect(r).toMatchObject({ input_tokens: e.inputTokens, output_tokens: e.outputTokens, compute_seconds: e.computeSeconds, cost_usd: e.costUsd, span_cost: e.spanCost });
      }
      // The rollup saw the same rows.
      const rollup = await ts.store.query<{ n: number; input: number }>(
        `SELECT sum(events) AS n, sum(input_tokens) AS input FROM ${ts.store.table('usage_minute')} WHERE kind = 'tenant' AND entity = 'tenant'`,
      );
      expect(rollup[0]).toEqual({ n: 12, input: events.reduce((a, e) => a + e.inputTokens, 0) });
    } finally {
      await ts.close();
    }
  });
});

describe('an event the encoder refuses', () => {
  it('goes to spool/dead while the rest of its batch is stored', async () => {
    const ts = await openTestStore();
    const spoolDir = mkdtempSync(join(tmpdir(), 'tk-spool-'));
    const spool = await openSpool(spoolDir, 1 << 20);
    const writer = createBatchWriter({ repo: ts.repo, spool, logger: pino({ level: 'silent' }), batchSize: 100, flushIntervalMs: 10, maxQueued: 1000 });
    try {
      const good = [1, 2, 3].map((i) => usageEvent({ apiKey: 'nan-batch', inputTokens: i }));
      const bad = usageEvent({ apiKey: 'nan-batch', costUsd: Number.NaN });
      expect(await writer.submit([good[0]!, bad, ...good.slice(1)])).toEqual({ ok: true });
      await writer.close();
      const rows = await ts.store.query<{ n: number; t: number }>(`SELECT count() AS n, sum(input_tokens) AS t FROM ${ts.store.table('usage_events')} WHERE api_key = 'nan-batch'`);
      expect(rows[0]).toEqual({ n: 3, t: 6 });
      const dead = readdirSync(join(spoolDir, 'dead'));
      expect(dead).toHaveLength(1);
      expect(readFileSync(join(spoolDir, 'dead', dead[0]!), 'utf8')).toContain(bad.eventId);
      expect(writer.stats().deadEvents).toBe(1);
    } finally {
      await ts.close();
    }
  });
});
