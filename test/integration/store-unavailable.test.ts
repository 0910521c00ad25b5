// Store errors by meaning: a full disk, too many parts, a timeout, memory pressure or the network keep the batch
// (spool, then 503 + Retry-After once the spool is full); only rows the engine cannot parse go to spool/dead.
// The errors are the real shapes the ClickHouse client, chdb and Node throw, injected in front of the real store.
import { ClickHouseError } from '@clickhouse/client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chdbInsertError, faultyRepo, systemError } from '../helpers/faulty-repo.ts';
import { startCollector } from '../helpers/collector-app.ts';
import { chatSpan, exportJson } from '../helpers/otlp-bodies.ts';
import { spooledIds } from '../helpers/spool-files.ts';
import { rollupTotals, useTestStore } from '../helpers/test-store.ts';
import { waitFor } from '../helpers/wait.ts';

const stores = useTestStore();

const FAILURES: [string, () => unknown][] = [
  ['not enough space (server)', () => new ClickHouseError({ message: 'Cannot reserve 1.00 MiB, not enough space.', code: '243', type: 'NOT_ENOUGH_SPACE' })],
  ['not enough space (chdb)', () => chdbInsertError(243)],
  ['ENOSPC', () => systemError('ENOSPC')],
  ['too many parts', () => new ClickHouseError({ message: 'Too many parts (300).', code: '252', type: 'TOO_MANY_PARTS' })],
  ['timeout', () => new ClickHouseError({ message: 'Timeout exceeded', code: '159', type: 'TIMEOUT_EXCEEDED' })],
  ['client timeout', () => new Error('Timeout error.')],
  ['memory limit', () => chdbInsertError(241)],
  ['connection reset', () => systemError('ECONNRESET')],
];

async function collector(o: { spoolMaxBytes?: number } = {}) {
  const spoolDir = mkdtempSync(join(tmpdir(), 'tk-unavail-'));
  const { repo, faults } = faultyRepo(stores.ts.repo);
  const c = await startCollector({ repo, spoolDir, spoolMaxBytes: o.spoolMaxBytes ?? 64 * 1024 * 1024, batchSize: 500, flushIntervalMs: 5, maxQueued: 100_000 });
  stores.cleanups.push(async () => {
    await c.close();
    rmSync(spoolDir, { recursive: true, force: true });
  });
  return { c, faults, spoolDir };
}

const bodyFor = (key: string, n: number) =>
  exportJson(Array.from({ length: n }, () => chatSpan({ 'api_key.id': key, 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10 })));
const post = (url: string, body: string) => fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('store unavailable for a reason that passes', () => {
  it.each(FAILURES)('%s: requests are acknowledged from the spool and counted once the store takes them', async (name, error) => {
    const { c, faults, spoolDir } = await collector();
    const key = `unavail-${name.replace(/\W+/g, '-')}-${process.pid}`;
    faults.insertError = error;
    const statuses = [];
    for (let i = 0; i < 18; i++) statuses.push((await post(c.url, bodyFor(key, 100))).status);
    expect(statuses).toEqual(Array.from({ length: 18 }, () => 200));
    expect(spooledIds(spoolDir, 'dead')).toEqual([]);
    expect(spooledIds(spoolDir).length).toBe(1800);
    expect((await rollupTotals(stores.ts.store, key)).requests).toBe(0);

    faults.insertError = undefined;
    await waitFor(() => c.writer.stats().spoolFiles === 0, { what: 'the spool to drain' });
    expect(await rollupTotals(stores.ts.store, key)).toMatchObject({ events: 1800, requests: 1800, inputTokens: 18_000 });
    expect(c.writer.stats().deadEvents).toBe(0);
  });

  it('answers 503 with Retry-After once the spool is full, and takes the retries when the store is back', async () => {
    const { c, faults, spoolDir } = await collector({ spoolMaxBytes: 200 * 1024 });
    const key = `unavail-full-${process.pid}`;
    faults.insertError = () => new ClickHouseError({ message: 'Cannot reserve 1.00 MiB, not enough space.', code: '243', type: 'NOT_ENOUGH_SPACE' });
    const bodies = Array.from({ length: 18 }, () => bodyFor(key, 100));
    const first = [];
    for (const b of bodies) {
      const r = await post(c.url, b);
      first.push({ status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as { code?: number } });
    }
    const refused = first.filter((r) => r.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(Number(r.retryAfter)).toBeGreaterThan(0);
      expect(r.body.code).toBe(14); // UNAVAILABLE: OTLP exporters retry it
    }
    expect(first.every((r) => r.status === 200 || r.status === 503)).toBe(true);
    expect(spooledIds(spoolDir, 'dead')).toEqual([]);

    // The store is back: the spool drains, and the client's retries (after Retry-After) are taken.
    faults.insertError = undefined;
    await waitFor(() => c.writer.stats().spoolFiles === 0, { what: 'the spool to drain' });
    for (const [i, b] of bodies.entries()) if (first[i]!.status === 503) expect((await post(c.url, b)).status).toBe(200);
    await waitFor(async () => (await rollupTotals(stores.ts.store, key)).requests === 1800, { what: 'all 1800 calls counted' });
    expect((await rollupTotals(stores.ts.store, key)).events).toBe(1800);
  });

  it('still sets aside only the rows the store cannot parse', async () => {
    const { c, faults, spoolDir } = await collector();
    const good = `unavail-good-${process.pid}`;
    const poison = `unavail-poison-${process.pid}`;
    faults.refuse = (row) => row.apiKey === poison;
    const body = exportJson([
      ...Array.from({ length: 20 }, () => chatSpan({ 'api_key.id': good, 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10 })),
      chatSpan({ 'api_key.id': poison, 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10 }),
    ]);
    expect((await post(c.url, body)).status).toBe(200);
    expect(spooledIds(spoolDir, 'dead').length).toBe(1);
    expect((await rollupTotals(stores.ts.store, good)).requests).toBe(20);
  });
});
