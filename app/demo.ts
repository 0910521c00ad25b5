import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../core/config/load.ts';
import { buildTollkeeper, type Tollkeeper } from './build.ts';
import { createFleet, FLEET, LEAKED } from './demo-fleet.ts';
import { startAlertReceiver, type ReceivedAlert } from './demo-receiver.ts';
import { createWatcher, type DemoTarget } from './demo-watch.ts';
import { createLogger } from './logger.ts';

export interface DemoOptions {
  /** Writes one line of the transcript (the CLI's stdout). */
  out: (line: string) => void;
  /** The short timeline (attack after 3 s instead of 10 s), for a quick look and for tests. */
  fast?: boolean;
  /** Keep the demo's data here (default: a temporary directory, removed at the end). */
  data?: string;
  /** Use a running tollkeeper instead of starting one: its API URL, OTLP URL and tokens. */
  url?: string;
  otlpUrl?: string;
  adminToken?: string;
  gatewayToken?: string;
  otlpToken?: string;
}

const TIMELINES = {
  normal: { attackAfterMs: 10_000, roundEveryMs: 2_000, spendEveryMs: 5_000, afterMs: 5_000, boundMs: 60_000 },
  fast: { attackAfterMs: 3_000, roundEveryMs: 2_000, spendEveryMs: 2_000, afterMs: 1_500, boundMs: 45_000 },
};
const ATTACK_CALLS = 40;
const HISTORY_DAYS = 7;
const WATCH_EVERY_MS = 250;

const usd = (v: number) => `$${v < 0.1 ? v.toFixed(4) : v < 10 ? v.toFixed(2) : v.toFixed(0)}`;

/** The demo's own configuration: a 1 s detector tick, critical findings revoke, alerts to the demo's receiver. */
function demoYaml(hookUrl: string, secret: string): string {
  return [
    'detector: { interval: 1s }',
    'anomaly: { actions: { warning: alert, critical: revoke } }',
    'alerts:',
    `  webhooks: [{ name: demo-receiver, url: "${hookUrl}", secret: "${secret}", events: [anomaly.detected, key.revoked] }]`,
    '  delivery: { backoff: 500ms }',
  ].join('\n');
}

/**
 * `tollkeeper demo`: starts tollkeeper (or uses a running one), drives a small fleet through the real OTel SDK,
 * lets one key leak, and prints what tollkeeper does about it. Bounded: it ends by itself. Returns the exit code
 * (0 when the leaked key was revoked, and the alert delivered when the demo runs its own receiver).
 */
export async function runDemo(o: DemoOptions): Promise<number> {
  const tl = o.fast ? TIMELINES.fast : TIMELINES.normal;
  const t0 = Date.now();
  const say = (label: string, text: string) => o.out(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${label.padEnd(10)} ${text}`);
  const alerts: ReceivedAlert[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    let target: DemoTarget;
    let otlpUrl: string;
    let receiving = false;
    if (o.url) {
      if (!o.adminToken) throw new Error('--url needs --admin-token (or TOLLKEEPER_ADMIN_TOKEN): the demo reads incidents and spend through the admin API');
      const api = new URL(o.url);
      target = { apiUrl: o.url.replace(/\/$/, ''), adminToken: o.adminToken, gatewayToken: o.gatewayToken ?? o.adminToken };
      otlpUrl = (o.otlpUrl ?? `${api.protocol}//${api.hostname}:4318`).replace(/\/$/, '');
      say('tollkeeper', `using the running instance at ${target.apiUrl} (OTLP ${otlpUrl}); alerts go to its own subscribers`);
    } else {
      const receiver = await startAlertReceiver((a) => {
        alerts.push(a);
        say('ALERT', `${a.type} for ${a.entity} delivered to the demo's webhook receiver (signature ${a.verified ? 'verified' : 'NOT verified'}, webhook-id ${a.webhookId.slice(0, 12)}…)`);
      }, Date.now);
      cleanups.unshift(() => receiver.close());
      receiving = true;
      const dataDir = o.data ? resolve(o.data) : mkdtempSync(join(tmpdir(), 'tollkeeper-demo-'));
      if (!o.data) cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      say('tollkeeper', `starting on ${o.data ? dataDir : 'a temporary data directory'} (embedded ClickHouse), detector tick 1 s`);
      const loaded = loadConfig({ source: 'tollkeeper demo', fileText: demoYaml(receiver.url, receiver.secret), env: {}, flags: { data: dataDir, otlpPort: 0, apiPort: 0, gatewayPort: 0, host: '127.0.0.1' } });
      if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
      const app: Tollkeeper = await buildTollkeeper(loaded.config, { logger: createLogger('error') });
      cleanups.unshift(() => app.close());
      const urls = await app.listen();
      target = { apiUrl: urls.apiUrl ?? '', adminToken: app.tokens.admin, gatewayToken: app.tokens.gateway };
      otlpUrl = urls.otlpUrl ?? '';
      say('tollkeeper', `OTLP ${otlpUrl}/v1/traces · web UI ${target.apiUrl}/ (admin token in ${app.tokens.path})`);
    }

    const watcher = createWatcher(target);
    await watcher.baseline();
    const fleet = createFleet(otlpUrl, o.otlpToken ? { authorization: `Bearer ${o.otlpToken}` } : {});
    cleanups.unshift(() => fleet.shutdown());
    const seeded = await fleet.seedHistory(Date.now(), HISTORY_DAYS);
    say('history', `sent ${seeded.toLocaleString('en-US')} back-dated spans: ${HISTORY_DAYS} days of ordinary usage for ${FLEET.length} API keys, so the detector knows what is usual`);
    say('fleet', `${FLEET.length} services call ${[...new Set(FLEET.map((f) => f.model))].join(' / ')} through the OpenTelemetry SDK, one call each every ${tl.roundEveryMs / 1000} s (a few cents a minute)`);

    const start = Date.now();
    let nextRound = start;
    let nextSpend = start + tl.spendEveryMs;
    let attackAt: number | undefined;
    let detectedAt: number | undefined;
    let revokedAt: number | undefined;
    let version = 0;
    let calls = 0;
    let gatewayChecked = false;
    const deadline = start + tl.boundMs;
    for (;;) {
      const now = Date.now();
      if (now >= nextRound) {
        fleet.normalRound();
        calls += FLEET.length;
        nextRound += tl.roundEveryMs;
      }
      if (attackAt === undefined && now - start >= tl.attackAfterMs) {
        attackAt = now;
        fleet.attack(ATTACK_CALLS);
        await fleet.flush();
        say('ATTACK', `the key ${LEAKED.key} leaked: ${ATTACK_CALLS} gpt-4o calls with huge prompts (~$0.50 each) in one burst`);
      }
      if (now >= nextSpend) {
        nextSpend += tl.spendEveryMs;
        const s = await watcher.spend(now, 60);
        say('spend', `last 60 s ${usd(s.total)} — ${s.top.slice(0, 3).map((e) => `${e.id} ${usd(e.cost)}`).join(', ') || 'nothing stored yet'}`);
      }
      for (const i of await watcher.newIncidents()) {
        // The detector's own time when it runs here (same clock as the attack's); the demo's polling adds its loop
        // delay, which would make detection look later than the alert it caused.
        if (i.entity === `api_key ${LEAKED.key}`) detectedAt ??= !o.url && i.detectedAt !== undefined ? i.detectedAt : Date.now();
        say('DETECTED', `${i.severity} ${i.pattern} on ${i.entity} → ${i.action}: ${i.explanation}`);
      }
      const delta = await watcher.newEntries();
      version = delta.version;
      for (const e of delta.added) {
        if (e.entity === `api_key ${LEAKED.key}`) revokedAt ??= Date.now();
        say('REVOKED', `${e.entity} (${e.action}, ${e.source}) — revocation list version ${delta.version}; gateways polling it block the key now`);
      }
      if (revokedAt !== undefined && !gatewayChecked) {
        gatewayChecked = true;
        const [leaked, other] = await Promise.all([watcher.gatewayAnswer(LEAKED.key), watcher.gatewayAnswer(FLEET[0].key)]);
        say('GATEWAY', `forward-auth answers ${leaked} for ${LEAKED.key} and ${other} for ${FLEET[0].key}`);
      }
      const settled = revokedAt !== undefined && (!receiving || alerts.some((a) => a.type === 'key.revoked'));
      const settledAt = Math.max(revokedAt ?? 0, ...alerts.map((a) => a.at));
      if ((settled && Date.now() - settledAt >= tl.afterMs) || Date.now() >= deadline) break;
      await sleep(WATCH_EVERY_MS);
    }

    const after = (at: number | undefined) => (at === undefined || attackAt === undefined ? 'not seen' : `${((at - attackAt) / 1000).toFixed(1)} s after the attack`);
    const revokedAlert = alerts.find((a) => a.type === 'key.revoked');
    const spent = await watcher.spend(Date.now(), (Date.now() - start) / 1000 + 60).catch(() => undefined);
    o.out('');
    o.out('summary');
    o.out(`  fleet      ${FLEET.length} API keys, ${calls} ordinary calls in ${((Date.now() - start) / 1000).toFixed(0)} s${spent ? `; stored spend in that time ${usd(spent.total)}` : ''}`);
    o.out(`  attack     ${ATTACK_CALLS} calls on ${LEAKED.key}`);
    o.out(`  detected   ${after(detectedAt)}`);
    o.out(`  revoked    ${after(revokedAt)} (seen on the revocation list, version ${version}, by the demo's poll)`);
    o.out(`  alerted    ${receiving ? after(revokedAlert?.at) : 'by the running instance to its own subscribers'}`);
    if (o.data) o.out(`  data kept in ${resolve(o.data)}: \`npm start -- --data ${o.data}\` to look around in the web UI`);
    const ok = revokedAt !== undefined && (!receiving || revokedAlert !== undefined);
    if (!ok) o.out(`  the story did not complete within ${tl.boundMs / 1000} s (a busy machine?): see the lines above`);
    return ok ? 0 : 1;
  } finally {
    for (const c of cleanups) await c();
  }
}
