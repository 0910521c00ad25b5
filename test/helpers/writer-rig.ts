// A batch writer over the real embedded ClickHouse (through the fault injector) and a real on-disk spool, for the
// no-loss and refusal tests of the collector's writer, with events and the exactly-once check they share.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createLogger } from '../../app/logger.ts';
import { createBatchWriter, type BatchWriter } from '../../collector/batch-writer.ts';
import type { WriteOutcome } from '../../collector/write-outcome.ts';
import { openSpool } from '../../collector/spool.ts';
import type { UsageEvent } from '../../core/usage/types.ts';
import { usageEvent } from './events.ts';
import { faultyRepo, type Faults } from './faulty-repo.ts';
import { eventTotals, useTestStore, rollupTotals } from './test-store.ts';

const logger = createLogger(process.env.TOLLKEEPER_TEST_LOG ?? 'silent');
export const OK: WriteOutcome = { ok: true };

export interface Rig {
  writer: BatchWriter;
  faults: Faults;
  calls: { insert: number; existingIds: number; failed: number; maxIdsPerLookup: number };
  spoolDir: string;
}

/** A test store for this file, and writers over it that are closed after each test. */
export function useWriterRig() {
  const stores = useTestStore();
  const { cleanups } = stores;

  /** A writer over the real store (through the fault injector) and a real spool directory. */
  async function rig(o: { spoolDir?: string; spoolMaxBytes?: number; batchSize?: number; maxQueued?: number; flushIntervalMs?: number } = {}): Promise<Rig> {
    const spoolDir = o.spoolDir ?? mkdtempSync(join(tmpdir(), 'tollkeeper-spool-'));
    if (!o.spoolDir) cleanups.push(() => rmSync(spoolDir, { recursive: true, force: true }));
    const spool = await openSpool(spoolDir, o.spoolMaxBytes ?? 64 * 1024 * 1024);
    const { repo, faults, calls } = faultyRepo(stores.ts.repo);
    const writer = createBatchWriter({
      repo,
      spool,
      logger,
      batchSize: o.batchSize ?? 50,
      flushIntervalMs: o.flushIntervalMs ?? 5,
      maxQueued: o.maxQueued ?? 100_000,
      drainIntervalMs: 25,
    });
    cleanups.push(() => writer.close());
    return { writer, faults, calls, spoolDir };
  }

  let keySeq = 0;
  /** An api key no other test uses, so each test reads only its own rows. */
  function freshKey(name: string): string {
    return `${name}-${process.pid}-${++keySeq}`;
  }

  let tokenSeq = 0;
  /** `n` events for `apiKey` with varied token counts and costs (multiples of 1/8, so float sums are exact). */
  function batchOf(apiKey: string, n: number): UsageEvent[] {
    return Array.from({ length: n }, () => {
      tokenSeq++;
      return usageEvent({ apiKey, inputTokens: 10 + (tokenSeq % 97), outputTokens: tokenSeq % 13, costUsd: (tokenSeq % 11) / 8 });
    });
  }

  /** Every sent event is stored exactly once: raw rows, distinct ids, and the rollup quotas read. */
  async function expectExactlyOnce(apiKey: string, sent: readonly UsageEvent[]): Promise<void> {
    const unique = [...new Map(sent.map((e) => [e.eventId, e])).values()];
    const tokens = unique.reduce((a, e) => a + e.inputTokens, 0);
    const cost = unique.reduce((a, e) => a + e.costUsd, 0);
    expect(await eventTotals(stores.ts.store, apiKey)).toEqual({ rows: unique.length, distinctIds: unique.length, inputTokens: tokens, costUsd: cost });
    expect(await rollupTotals(stores.ts.store, apiKey)).toEqual({ events: unique.length, requests: unique.length, inputTokens: tokens, costUsd: cost });
  }

  const drained = (r: Rig) => () => r.writer.stats().spoolFiles === 0 && r.writer.stats().queued === 0;

  return { stores, cleanups, rig, freshKey, batchOf, expectExactlyOnce, drained };
}
