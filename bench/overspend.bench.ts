// Overspend after a hard limit: how much spend gets past a daily cost limit between the moment
// the traffic crosses it and the moment a gateway polling the revocation list sees the key revoked.
import { progress, runBench, type BenchResult } from './lib/harness.ts';
import { startBenchApp } from './lib/app.ts';
import { fmt } from './lib/stats.ts';
import { otlpJson, postJson, waitRevoked } from './lib/spans-json.ts';

const COST_PER_REQUEST = 0.01;
const SEND_EVERY_MS = 50;

async function cell(dataDir: string, intervalMs: number, rps: number, trial: number) {
  const limit = Math.round(rps * 3 * COST_PER_REQUEST); // crossed about 3 s into the run
  const yaml = `detector: { interval: ${intervalMs}ms }\nanomaly: { enabled: false }\npolicies: [{ name: cap, scope: api_key, limits: { cost_usd: ${limit} }, action: revoke }]\n`;
  const b = await startBenchApp(dataDir, `overspend_${intervalMs}_${rps}_${trial}`, { yaml });
  const key = `key-${intervalMs}-${rps}-${trial}`;
  const token = b.app.tokens.gateway;
  let sent = 0;
  let crossedAt: number | null = null;
  let stop = false;
  const revoked = waitRevoked(b.apiUrl, token, key, 60_000).then((t) => {
    stop = true;
    return t;
  });
  const perBatch = Math.max(1, Math.round((rps * SEND_EVERY_MS) / 1000));
  const started = Date.now();
  // Open-loop traffic: a batch every 50 ms, as a gateway reporting its calls would, until the key is revoked.
  for (let i = 0; !stop && Date.now() - started < 60_000; i++) {
    const due = started + i * SEND_EVERY_MS;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    if (stop) break;
    const now = Date.now();
    const status = await postJson(b.otlpUrl, otlpJson(Array.from({ length: perBatch }, () => ({ apiKey: key, costUsd: COST_PER_REQUEST, inputTokens: 1000, outputTokens: 100, endMs: now }))));
    if (status !== 200) throw new Error(`ingest answered ${status}`);
    sent += perBatch * COST_PER_REQUEST;
    if (crossedAt === null && sent >= limit) crossedAt = Date.now();
  }
  const seenAt = await revoked;
  await b.close();
  if (seenAt === null || crossedAt === null) return null;
  const overspend = Math.max(0, sent - limit);
  const delayMs = Math.max(0, seenAt - crossedAt);
  return { limit, overspend, delayMs, ticks: delayMs / intervalMs, trafficPerTick: (rps * COST_PER_REQUEST * intervalMs) / 1000 };
}

await runBench(async (ctx): Promise<BenchResult> => {
  const trials = Math.max(1, Math.round(3 * ctx.scale));
  const rows: string[][] = [];
  const problems: string[] = [];
  for (const intervalMs of [1000, 5000]) {
    for (const rps of [100, 1000]) {
      const results: NonNullable<Awaited<ReturnType<typeof cell>>>[] = [];
      for (let t = 0; t < trials; t++) {
        progress(`interval ${intervalMs} ms, ${rps} req/s, trial ${t + 1}/${trials}`);
        const r = await cell(ctx.tmpDir, intervalMs, rps, t);
        if (r) results.push(r);
        else problems.push(`interval ${intervalMs} ms at ${rps} req/s: the key was never revoked`);
      }
      if (results.length === 0) continue;
      const worst = results.reduce((a, b) => (b.overspend > a.overspend ? b : a));
      const mean = (f: (r: (typeof results)[number]) => number) => results.reduce((a, r) => a + f(r), 0) / results.length;
      rows.push([
        `${intervalMs / 1000} s`,
        fmt(rps),
        `$${fmt(worst.limit, 2)}`,
        `$${fmt(mean((r) => r.overspend), 2)} / $${fmt(worst.overspend, 2)}`,
        `${fmt(mean((r) => r.delayMs))} / ${fmt(worst.delayMs)} ms`,
        `$${fmt(worst.trafficPerTick, 2)}`,
        fmt(worst.overspend / worst.trafficPerTick, 2),
      ]);
      if (worst.overspend > worst.trafficPerTick) problems.push(`interval ${intervalMs} ms at ${rps} req/s: overspend $${worst.overspend.toFixed(2)} is more than one tick of traffic ($${worst.trafficPerTick.toFixed(2)})`);
    }
  }
  return {
    title: 'Overspend after a hard limit',
    method: [
      'One key sends $0.01 requests (OTLP/JSON, a batch every 50 ms, open loop) against a daily cost limit crossed ~3 s in; a poller long-polls GET /v1/revocations?wait=2.',
      'Overspend = spend sent after the limit was crossed until the poller saw the revocation (what a gateway that polls would let through).',
      `${trials} trial(s) per cell; mean / worst shown. Fresh usage nudges the detector (at most every 500 ms), so the delay is batch flush (200 ms) + nudge gap + one tick, not a full interval.`,
    ],
    tables: [{ columns: ['detector interval', 'req/s', 'limit', 'overspend mean / worst', 'cross → seen mean / worst', 'one tick of traffic', 'overspend in ticks (worst)'], rows }],
    problems,
  };
});
