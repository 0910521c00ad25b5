// A sender spraying distinct api keys (docs/hostile-text.md#known-limits): N new one-call keys over ~60 s per step
// into the real app in this process, over real OTLP/HTTP, then three detector ticks; one JSON line per sample with
// resident memory, the JS heap after a full collection, what detection holds, and the answers seen so far.
// Run alone: `MALLOC_ARENA_MAX=2 node --expose-gc --max-semi-space-size=32 --import tsx bench/identity-flood.ts`
// (STEPS=10000,30000,60000 cumulative keys, PER_REQ=200 spans a request, SECONDS=60 a step, YAML=extra config).
import { setTimeout as sleep } from 'node:timers/promises';
import { startApp, type TestApp } from '../test/helpers/app.ts';
import { chatSpan, exportJson } from '../test/helpers/otlp-bodies.ts';

const STEPS = (process.env.STEPS ?? '10000,30000,60000').split(',').map(Number);
const PER_REQ = Number(process.env.PER_REQ ?? 200);
const SECONDS = Number(process.env.SECONDS ?? 60);
const mib = (b: number) => Math.round(b / 2 ** 20);

const statuses: Record<string, number> = {};
let worstMs = 0;

function sample(label: string, t: TestApp): void {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const row = { label, rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed), detection: t.app.anomaly?.stats(), statuses, worstMs };
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

async function send(t: TestApp, from: number, to: number): Promise<void> {
  const requests = Math.ceil((to - from) / PER_REQ);
  const gapMs = (SECONDS * 1000) / requests;
  const t0 = Date.now();
  const inflight: Promise<void>[] = [];
  for (let r = 0, key = from; r < requests; r++) {
    const spans = [];
    for (let i = 0; i < PER_REQ && key < to; i++, key++) spans.push(chatSpan({ 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 10, 'tollkeeper.api_key.id': `flood-${key}` }));
    const started = Date.now();
    const answer = fetch(`${t.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: exportJson(spans) }).then(
      async (res) => {
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        worstMs = Math.max(worstMs, Date.now() - started);
      },
      (err: unknown) => {
        statuses[String(err)] = (statuses[String(err)] ?? 0) + 1;
      },
    );
    inflight.push(answer);
    await sleep(Math.max(0, t0 + (r + 1) * gapMs - Date.now()));
  }
  await Promise.all(inflight);
}

const t = await startApp({ yaml: process.env.YAML ?? '' });
sample('start', t);
let sent = 0;
for (const n of STEPS) {
  await send(t, sent, n);
  sent = n;
  sample(`after ${n} keys`, t);
  for (let k = 1; k <= 3; k++) {
    await sleep(5000);
    sample(`after ${n} keys +${k * 5} s of ticks`, t);
  }
}
await t.close({ cleanup: true });
