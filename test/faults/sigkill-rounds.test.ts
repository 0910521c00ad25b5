// kill -9 at random points while usage and revocations flow: the real `tollkeeper start` as a child process,
// killed and restarted on the same data directory over several rounds. Afterwards every span answered 200 is
// stored exactly once (raw rows and the rollup quotas read), the revocation list kept every acknowledged entry and
// its version never went back, and every acknowledged revocation reached the webhook receiver as exactly one
// delivery (Standard Webhooks signature verified; a redelivery after a restart keeps its webhook-id).
// The points are drawn from a seeded generator: the seed is printed, TOLLKEEPER_FAULT_SEED=<seed> replays them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ackedTraffic } from '../helpers/acked-traffic.ts';
import { startAppProcess, type AppProcess } from '../helpers/app-process.ts';
import { startApp } from '../helpers/app.ts';
import { startHookReceiver } from '../helpers/alert-receivers.ts';
import { mulberry32 } from '../helpers/traffic-sim.ts';
import { waitFor } from '../helpers/wait.ts';

const SEED = Number(process.env.TOLLKEEPER_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = Number(process.env.TOLLKEEPER_FAULT_ROUNDS ?? 5);
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const root = mkdtempSync(join(tmpdir(), 'tk-sigkill-'));
const dataDir = join(root, 'data');
let running: AppProcess | undefined;
afterAll(async () => {
  await running?.kill();
  rmSync(root, { recursive: true, force: true });
});

interface ListBody {
  version: number;
  entries: { kind: string; id: string; action: string }[];
}

async function revocationList(app: AppProcess): Promise<ListBody> {
  const r = await fetch(`${app.apiUrl}/v1/revocations`, { headers: { authorization: `Bearer ${app.gatewayToken}` } });
  expect(r.status).toBe(200);
  return (await r.json()) as ListBody;
}

describe.skipIf(process.env.TOLLKEEPER_TEST_CLICKHOUSE_URL)('SIGKILL during ingest, over several rounds', () => {
  it('loses no acknowledged span, counts none twice, keeps the revocation list, and delivers each revocation alert once', { timeout: 360_000 }, async () => {
    console.log(`sigkill rounds: seed ${SEED}, ${ROUNDS} rounds (replay with TOLLKEEPER_FAULT_SEED=${SEED})`);
    const rng = mulberry32(SEED);
    const receiver = await startHookReceiver(SECRET);
    const yaml = `alerts:
  webhooks:
    - { name: faults, url: ${receiver.url}, secret: ${SECRET}, events: [key.revoked] }
  delivery: { max_attempts: 100, backoff: 100ms, max_backoff: 500ms }
`;
    const key = `sigkill-${SEED}`;
    const traffic = ackedTraffic(key);
    /** Revocations answered 200, with the version the answer carried. */
    const revoked = new Map<string, number>();
    let lastVersion = 0;
    const seenListed = new Set<string>();

    const checkList = async (app: AppProcess) => {
      const list = await revocationList(app);
      // The version never goes back, and nothing acknowledged is missing after a restart.
      expect(list.version).toBeGreaterThanOrEqual(lastVersion);
      expect(list.version).toBeGreaterThanOrEqual(Math.max(0, ...revoked.values()));
      const listed = new Set(list.entries.filter((e) => e.action === 'revoke').map((e) => `${e.kind}/${e.id}`));
      expect([...revoked.keys()].filter((id) => !listed.has(`api_key/${id}`))).toEqual([]);
      // What a restart listed stays listed (also a revocation that was applied but whose answer the kill cut off).
      expect([...seenListed].filter((k) => !listed.has(k))).toEqual([]);
      for (const k of listed) seenListed.add(k);
      lastVersion = list.version;
    };

    for (let round = 0; round < ROUNDS; round++) {
      const app = (running = await startAppProcess({ dataDir, yaml }));
      await checkList(app);
      // The receiver fails some deliveries this round, so some are waiting for a retry when the kill comes.
      const failShare = rng() * 0.5;
      const receiverRng = mulberry32(SEED + round);
      receiver.setBehaviour((_req, res) => (receiverRng() < failShare ? (res.writeHead(503).end(), true) : false));
      const trigger = rng() < 0.5 ? { on: 'span' as const, after: 1 + Math.floor(rng() * 20) } : { on: 'revoke' as const, after: 1 + Math.floor(rng() * 6) };
      const spans = 10 + Math.floor(rng() * 40);
      let killed = false;
      let spanAcks = 0;
      let revokeAcks = 0;
      const kill = () => {
        if (killed) return;
        killed = true;
        process.kill(app.nodePid(), 'SIGKILL');
      };
      const spanLoop = async () => {
        while (!killed) {
          const status = await traffic.sendOne(app.otlpUrl, spans);
          if (status === 200 && ++spanAcks >= trigger.after && trigger.on === 'span') kill();
          if (typeof status === 'string') break; // the server is gone
        }
      };
      const revokeLoop = async () => {
        for (let i = 0; !killed && (trigger.on === 'revoke' || i < 6); i++) {
          const id = `rk-${SEED}-${round}-${i}`;
          try {
            const r = await fetch(`${app.apiUrl}/v1/enforcement`, {
              method: 'POST',
              headers: { authorization: `Bearer ${app.adminToken}`, 'content-type': 'application/json' },
              body: JSON.stringify({ action: 'revoke', kind: 'api_key', id, reason: `fault round ${round}` }),
            });
            const body = (await r.json()) as { version: number };
            if (r.status !== 200) throw new Error(`revoke ${id}: ${r.status} ${JSON.stringify(body)}`);
            revoked.set(id, body.version);
            if (++revokeAcks >= trigger.after && trigger.on === 'revoke') kill();
          } catch (err) {
            if (!killed) throw err;
          }
        }
      };
      const guard = waitFor(() => killed || app.proc.exitCode !== null, { timeoutMs: 60_000, what: `round ${round}: the kill point (${JSON.stringify(trigger)})` });
      await Promise.all([spanLoop(), spanLoop(), spanLoop(), revokeLoop(), guard]);
      const exit = await app.exited;
      running = undefined;
      expect(exit.signal ?? exit.code, app.output()).not.toBe(0);
      console.log(`round ${round}: killed after ${spanAcks} acknowledged bodies and ${revokeAcks} revocations (trigger ${trigger.on} #${trigger.after}), ${traffic.unacked()} bodies to resend`);
    }

    // The last start: no kill. The client resends what was never acknowledged; the outbox catches up.
    receiver.setBehaviour(undefined);
    const app = (running = await startAppProcess({ dataDir, yaml }));
    await checkList(app);
    for (let i = 0; traffic.unacked() > 0 && i < 200; i++) await traffic.sendOne(app.otlpUrl, 0);
    expect(traffic.unacked()).toBe(0);
    const alertsFor = (id: string) => new Set(receiver.hooks.filter((h) => (h.json as { data: { entity: { id: string } } }).data.entity.id === id).map((h) => h.id));
    const unalerted = () => [...revoked.keys()].filter((id) => alertsFor(id).size === 0);
    await waitFor(() => unalerted().length === 0, { timeoutMs: 30_000, what: 'an alert for every acknowledged revocation' }).catch(() => undefined);
    expect(unalerted(), 'acknowledged revocations whose alert never came').toEqual([]);
    expect(receiver.hooks.every((h) => h.verified)).toBe(true);
    // Exactly once after deduping by webhook-id: one delivery per revocation, never two different ids.
    const entities = new Set(receiver.hooks.map((h) => (h.json as { data: { entity: { id: string } } }).data.entity.id));
    expect([...entities].filter((id) => alertsFor(id).size !== 1)).toEqual([]);
    const redelivered = receiver.hooks.length - new Set(receiver.hooks.map((h) => h.id)).size;
    expect((await app.stop()).code).toBe(0);
    running = undefined;

    // Count in the store itself: the app in this process on the same data directory (it drains what is spooled).
    const t = await startApp({ dataDir, startLoop: false });
    try {
      await waitFor(() => t.app.writer!.stats().spoolFiles === 0, { what: 'the spool to drain' });
      const table = (name: string) => t.app.store.table(name);
      const rows = await t.app.store.query<{ event_id: string; n: number }>(`SELECT event_id, count() AS n FROM ${table('usage_events')} WHERE api_key = {k:String} GROUP BY event_id`, { k: key });
      const stored = new Map(rows.map((r) => [r.event_id, Number(r.n)]));
      const missing = [...traffic.acked].filter((id) => !stored.has(id));
      const doubled = [...stored].filter(([, n]) => n > 1);
      const foreign = [...stored.keys()].filter((id) => !traffic.sent.has(id));
      const rollup = await t.app.store.query<{ requests: number }>(`SELECT sum(requests) AS requests FROM ${table('usage_minute')} WHERE kind = 'api_key' AND entity = {k:String}`, { k: key });
      console.log(`sigkill rounds: ${traffic.acked.size} spans acknowledged, ${stored.size} stored, ${revoked.size} revocations acknowledged, ${receiver.hooks.length} webhook posts (${redelivered} redeliveries of one webhook-id)`);
      expect({ missing: missing.length, doubled, foreign }).toEqual({ missing: 0, doubled: [], foreign: [] });
      expect(Number(rollup[0]?.requests)).toBe(stored.size);
      expect(t.app.writer!.stats().deadEvents).toBe(0);
    } finally {
      await t.close();
    }
  });
});
