// Alert latency (issue 12): from a decision (a revocation by the enforcement API, or a quota tick) to the signed
// webhook at a receiver and the mail at an SMTP server, both real servers on 127.0.0.1; plus what publishing
// costs the detector's tick and how long a 500-revocation tick takes to reach everyone.
import { performance } from 'node:perf_hooks';
import { startHookReceiver, startSmtp } from '../test/helpers/alert-receivers.ts';
import { usageEvent } from '../test/helpers/events.ts';
import { createUsageRepo } from '../store/usage-repo.ts';
import { startBenchApp } from './lib/app.ts';
import { progress, runBench, type BenchResult } from './lib/harness.ts';
import { fmt, summarize, type Summary } from './lib/stats.ts';

const SECRET = 'whsec_' + Buffer.from('bench secret for alert latency..').toString('base64');

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const row = (name: string, s: Summary, goal: string): string[] => [name, fmt(s.count), fmt(s.p50), fmt(s.p99), fmt(s.max), goal];

await runBench(async (ctx): Promise<BenchResult> => {
  const hooks = await startHookReceiver(SECRET);
  const smtp = await startSmtp();
  const yaml = `
detector: { interval: 1h }
anomaly: { enabled: false }
policies: [{ name: cap, scope: api_key, period: { calendar: day, timezone: UTC }, limits: { requests: 1 }, thresholds: [1.0], action: revoke }]
alerts:
  webhooks: [{ url: "${hooks.url}", secret: "${SECRET}" }]
  email: { smtp_url: "${smtp.url}", to: [ops@example.com], cooldown: 1ms }
`;
  const b = await startBenchApp(ctx.tmpDir, 'alerts_bench', { yaml, startLoop: false });
  const problems: string[] = [];
  const api = async (body: unknown) => {
    const res = await fetch(`${b.apiUrl}/v1/enforcement`, { method: 'POST', headers: { authorization: `Bearer ${b.app.tokens.admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`enforcement answered ${res.status}`);
  };

  // 1. Manual revocations, one at a time: decision = the event's timestamp (stamped by the API when it decides).
  const trials = Math.max(5, Math.round(40 * ctx.scale));
  const webhookMs: number[] = [];
  const mailMs: number[] = [];
  const requestToHookMs: number[] = [];
  for (let i = 0; i < trials; i++) {
    if (i % 10 === 0) progress(`manual revocation ${i + 1}/${trials}`);
    const h0 = hooks.hooks.length;
    const m0 = smtp.mails.length;
    const sent = performance.timeOrigin + performance.now();
    await api({ action: 'revoke', kind: 'api_key', id: `manual-${i}`, reason: 'bench' });
    await until(() => hooks.hooks.length > h0 && smtp.mails.length > m0, 20_000, `alerts for manual-${i}`);
    const hook = hooks.hooks[h0]!;
    const decided = Date.parse((hook.json as { timestamp: string }).timestamp);
    webhookMs.push(hook.receivedAt - decided);
    requestToHookMs.push(hook.receivedAt - sent);
    mailMs.push(smtp.mails[m0]!.receivedAt - decided);
  }

  // 2. Quota ticks: usage crosses a limit, one tick decides (quota.exceeded + key.revoked in one publish).
  const repo = createUsageRepo(b.app.store);
  const tickTrials = Math.max(3, Math.round(15 * ctx.scale));
  const tickHookMs: number[] = [];
  const tickMailMs: number[] = [];
  for (let i = 0; i < tickTrials; i++) {
    if (i % 5 === 0) progress(`quota tick ${i + 1}/${tickTrials}`);
    await repo.insert([usageEvent({ apiKey: `tick-${i}`, requests: 2 })]);
    const h0 = hooks.hooks.length;
    const m0 = smtp.mails.length;
    await b.app.loop!.tickNow();
    await until(() => hooks.hooks.length >= h0 + 2 && smtp.mails.length > m0, 20_000, `alerts for tick-${i}`);
    const decided = Date.parse((hooks.hooks[h0]!.json as { timestamp: string }).timestamp);
    tickHookMs.push(Math.max(...hooks.hooks.slice(h0, h0 + 2).map((h) => h.receivedAt)) - decided);
    tickMailMs.push(smtp.mails[m0]!.receivedAt - decided);
  }

  // 3. One tick revokes 500 keys: 1000 webhooks and one digest mail.
  progress('one tick revoking 500 keys');
  await repo.insert(Array.from({ length: 500 }, (_, i) => usageEvent({ apiKey: `burst-${i}`, requests: 2 })));
  const h0 = hooks.hooks.length;
  const m0 = smtp.mails.length;
  const tickStart = Date.now();
  await b.app.loop!.tickNow();
  const tickEnd = Date.now();
  await until(() => hooks.hooks.length >= h0 + 1000 && smtp.mails.length > m0, 120_000, 'the burst');
  const burstDecided = Date.parse((hooks.hooks[h0]!.json as { timestamp: string }).timestamp);
  const lastHook = Math.max(...hooks.hooks.slice(h0).map((h) => h.receivedAt));
  const digestSubject = smtp.mails[m0]!.parsed.subject ?? '';
  if (smtp.mails.length !== m0 + 1) problems.push(`the 500-key tick produced ${smtp.mails.length - m0} mails, expected one digest`);
  if (!digestSubject.startsWith('[tollkeeper] Digest (500 events)')) problems.push(`digest subject: ${digestSubject}`);

  // 4. What publishing costs the detector: the synchronous part of onEvents (planning) for 1000 events.
  const events = Array.from({ length: 500 }, (_, i) => [
    { type: 'quota.exceeded' as const, timestamp: new Date().toISOString(), data: { entity: { kind: 'api_key', id: `sync-${i}` }, source: 'quota' as const, policy: 'cap', observed: 2, expected: 1, reason: `api_key sync-${i} used 2 of 1 requests (200%) under policy cap` } },
    { type: 'key.revoked' as const, timestamp: new Date().toISOString(), data: { entity: { kind: 'api_key', id: `sync-${i}` }, source: 'quota' as const, policy: 'cap', action: 'revoke', reason: 'bench' } },
  ]).flat();
  const p0 = performance.now();
  void b.app.notifier!.onEvents(events);
  const publishMs = performance.now() - p0;
  await until(() => hooks.hooks.length >= h0 + 2000, 120_000, 'the synchronous-cost batch');

  // Everything delivered and recorded before the database goes away with the app.
  await until(() => { const st = b.app.notifier!.outbox.stats(); return st.open === 0 && st.unstored === 0; }, 120_000, 'an empty outbox');
  const all = [...webhookMs, ...tickHookMs];
  if (Math.max(...all) > 2000) problems.push(`a webhook took ${fmt(Math.max(...all))} ms (goal 2 s)`);
  if (Math.max(...mailMs, ...tickMailMs) > 5000) problems.push(`a mail took ${fmt(Math.max(...mailMs, ...tickMailMs))} ms (goal 5 s)`);
  await b.close();
  await hooks.stop();
  await smtp.stop();
  return {
    title: 'Alert latency (decision → webhook receiver, → SMTP server)',
    method: [
      'The real app (embedded ClickHouse) with one Standard Webhooks subscriber and email to an in-process SMTP server (smtp-server + mailparser), both on 127.0.0.1.',
      'Decision time = the event timestamp the detector or API stamps when it decides; arrival = when the receiver has the whole request (signature verified) or the SMTP server has parsed the mail.',
      'Every delivery is stored in the outbox (ClickHouse) before its first attempt, so each figure includes that insert; the mail includes rendering, the spend-chart query and the PNG.',
      `Manual: ${trials} revocations through POST /v1/enforcement, one at a time. Quota: ${tickTrials} ticks, each crossing one key's limit (2 webhooks + 1 mail).`,
      'The 500-key tick stores its 500 firings in one insert and its 500 revocation list changes in another (versions one per change, gateways woken once). Before that (one insert each) the same tick took 20,060 ms (2026-12-03 07:46 UTC, load 18.5).',
    ],
    tables: [
      {
        columns: ['path', 'n', 'p50 ms', 'p99 ms', 'max ms', 'goal'],
        rows: [
          row('manual revoke → webhook', summarize(webhookMs), '2 s'),
          row('manual revoke → mail', summarize(mailMs), '5 s'),
          row('POST /v1/enforcement sent → webhook (client view)', summarize(requestToHookMs), ''),
          row('quota tick → both webhooks', summarize(tickHookMs), '2 s'),
          row('quota tick → mail', summarize(tickMailMs), '5 s'),
        ],
      },
      {
        caption: 'One tick revoking 500 keys (500 quota.exceeded + 500 key.revoked)',
        columns: ['measure', 'value'],
        rows: [
          ['tick duration (quota job: 500 firings + 500 revocations stored, one insert each kind)', `${fmt(tickEnd - tickStart)} ms`],
          ['tick end → last of 1000 webhooks', `${fmt(lastHook - tickEnd)} ms`],
          ['tick end → the one digest mail', `${fmt(smtp.mails[m0]!.receivedAt - tickEnd)} ms`],
          ['decision (tick start, the events\' timestamp) → last webhook', `${fmt(lastHook - burstDecided)} ms`],
          ['time publishing 1000 events blocks the detector (planning, storing and sending run after it returns)', `${fmt(publishMs, 1)} ms`],
        ],
      },
    ],
    problems,
  };
});
