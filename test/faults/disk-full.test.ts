// A nearly full disk must not turn acknowledged usage into dead letters: ClickHouse's "not enough space" is a
// passing state, so batches wait in the spool (or the client gets 503 + Retry-After and sends again), and every
// call is counted once space is back. Runs the real app with its data directory on a small tmpfs (needs root).
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { chatSpan, exportJson } from '../helpers/otlp-bodies.ts';
import { fillDisk, mountTmpfs } from '../helpers/privileges.ts';
import { spooledIds } from '../helpers/spool-files.ts';
import { rollupTotals } from '../helpers/test-store.ts';
import { waitFor } from '../helpers/wait.ts';

const mounted = mountTmpfs(192, 'tk-diskfull-');
if ('skip' in mounted) console.warn(`disk-full test skipped: ${mounted.skip}`);
const dataDir = 'dir' in mounted ? mounted.dir : '';

let t: TestApp | undefined;
afterAll(async () => {
  await t?.close();
  if ('remove' in mounted) mounted.remove();
});

describe.skipIf(!dataDir)('disk nearly full (data directory on a small tmpfs)', () => {
  it('keeps every acknowledged span and counts all of them once space is back', async () => {
    t = await startApp({ dataDir, startLoop: false, yaml: 'policies:\n  - { name: calls, scope: api_key, limits: { requests: 1000000 } }\n' });
    const key = `disk-full-${process.pid}`;
    const bodies = Array.from({ length: 18 }, () =>
      exportJson(Array.from({ length: 100 }, () => chatSpan({ 'api_key.id': key, 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 2 }))),
    );
    const send = (body: string) => fetch(`${t!.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

    // Below the 1 MiB ClickHouse reserves for a part, above what a few spool files need.
    const filler = join(dataDir, 'filler');
    fillDisk(dataDir, filler, 640 * 1024);
    const first = await Promise.all(bodies.map(async (b) => {
      const r = await send(b);
      return { status: r.status, retryAfter: r.headers.get('retry-after') };
    }));
    const statuses = first.map((r) => r.status);
    console.log(`disk full: ${statuses.filter((s) => s === 200).length} answered 200, ${statuses.filter((s) => s === 503).length} answered 503`);
    // Each answer is either an acknowledgement or a retriable refusal; nothing went to the dead letters.
    for (const r of first) expect(r.status === 200 || (r.status === 503 && Number(r.retryAfter) > 0), JSON.stringify(r)).toBe(true);
    expect(spooledIds(join(dataDir, 'spool'), 'dead')).toEqual([]);
    expect(t.app.writer!.stats().deadEvents).toBe(0);

    // Space is back: the spool drains, and the client sends again what got 503 (as OTLP exporters do).
    unlinkSync(filler);
    const retried = await Promise.all(bodies.filter((_b, i) => first[i]!.status !== 200).map(async (b) => (await send(b)).status));
    expect(retried.every((s) => s === 200)).toBe(true);
    await waitFor(async () => (await rollupTotals(t!.app.store, key)).requests === 1800, { timeoutMs: 30_000, what: 'all 1800 calls counted' });
    expect(await rollupTotals(t.app.store, key)).toMatchObject({ events: 1800, requests: 1800, inputTokens: 18_000 });
    const status = await fetch(`${t.apiUrl}/api/quotas/status?scope=api_key&id=${key}`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    expect(JSON.stringify(await status.json())).toContain('"used":1800');
    expect(spooledIds(join(dataDir, 'spool'), 'dead')).toEqual([]);
  });
});
