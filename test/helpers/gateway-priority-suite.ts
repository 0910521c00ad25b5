import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import type { GatewayIsolation } from '../../api/gateway-child.ts';
import { startApp, tempDataDir, type TestApp } from './app.ts';
import { parseExposition } from './prometheus.ts';
import { waitFor } from './wait.ts';

// gateway.background_nice on a real app in this test process (Linux), with the gateway worker in a process of its
// own or in a thread: every thread of the app's process but the worker's yields the CPU to it. One file per
// isolation (test/integration/gateway-priority*.test.ts): a lowered thread stays lowered for the rest of the process. Nice values are read as the OS reports them (field 19 of /proc/self/task/<tid>/stat)
// and compared with the test process's own at the start, so the file holds under `nice -n 10 npx vitest` too.

/** Nice value of each thread of this process (or process `pid`) now, by OS thread id (threads that end while read are left out). */
function niceByThread(pid: number | 'self' = 'self'): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
    try {
      // Fields after the command name start at field 3 (state): field 19 (nice) is index 16.
      out.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

const niceOf = (tid: number): number | undefined => niceByThread().get(tid);

async function priorityGauge(t: TestApp): Promise<{ gateway: number; background: number }> {
  const res = await fetch(`${t.apiUrl}/metrics`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  const m = parseExposition(await res.text());
  const g = m.samples.get('tollkeeper_gateway_priority_nice{thread="gateway"}');
  const b = m.samples.get('tollkeeper_gateway_priority_nice{thread="background"}');
  if (g === undefined || b === undefined) throw new Error('tollkeeper_gateway_priority_nice missing from /metrics');
  return { gateway: g, background: b };
}

const linux = process.platform === 'linux';
// The process's nice before any app lowered anything (vitest may itself run under `nice`).
const base = linux ? niceOf(process.pid)! : 0;
const background = Math.min(19, base + 10);

/** The nice values of the gateway worker's threads: its process's, or its one thread's. */
function gatewayNices(t: TestApp): number[] {
  const g = t.app.gateway!;
  if (g.pid === process.pid) return [niceOf(g.osThreadId!)!];
  return [...niceByThread(g.pid).values()];
}

export function gatewayPrioritySuite(isolation: GatewayIsolation): void {
  describe.runIf(linux)(`gateway.background_nice (Linux thread priorities), worker in a ${isolation}`, () => {
    const listener = `  listener: ${isolation}\n`;
    // One data directory for the file: the embedded engine opens one per process.
    const dataDir = tempDataDir();
    const apps: TestApp[] = [];
    afterAll(async () => {
      for (const a of apps) await a.close({ cleanup: true });
    });

    it('with background_nice: 0 no thread moves', async () => {
      const before = niceByThread();
      const t = await startApp({ dataDir, yaml: `gateway:\n  background_nice: 0\n${listener}` });
      apps.push(t);
      const after = niceByThread();
      const moved = [...after].filter(([tid, nice]) => before.has(tid) && before.get(tid) !== nice);
      expect(moved).toEqual([]);
      if (isolation === 'thread') expect(after.size).toBeGreaterThan(before.size);
      expect(gatewayNices(t)).toEqual(gatewayNices(t).map(() => base));
      expect(await priorityGauge(t)).toEqual({ gateway: base, background: base });
      await t.close();
      apps.pop();
    });

    it('lowers every thread but the gateway worker, the main thread included, and threads created later inherit it', async () => {
      const t = await startApp({ dataDir, yaml: `gateway:\n  background_nice: 10\n${listener}` });
      apps.push(t);
      const worker = t.app.gateway!.osThreadId!;
      expect(worker).toBeGreaterThan(0);
      const nices = niceByThread();
      const own = gatewayNices(t);
      // A process has its main thread, V8's platform threads, libuv's: several.
      if (isolation === 'process') expect(own.length).toBeGreaterThan(2);
      expect(own).toEqual(own.map(() => base));
      expect(nices.get(process.pid)).toBe(background);
      const others = [...nices].filter(([tid]) => tid !== worker && tid !== process.pid);
      // The embedded engine's pools, libuv's and V8's threads: there are always several.
      expect(others.length).toBeGreaterThan(2);
      expect(others.filter(([, n]) => n !== background)).toEqual([]);
      expect(await priorityGauge(t)).toEqual({ gateway: base, background });

      // A thread the lowered main thread creates now starts at the background priority.
      // It stays alive (listening on its port) until terminated, so its thread is still there to be read.
      const w = new Worker("const { parentPort } = require('node:worker_threads'); parentPort.on('message', () => undefined); parentPort.postMessage(require('node:fs').readlinkSync('/proc/thread-self').split('/').at(-1))", { eval: true });
      const tid = Number(await new Promise((resolve) => w.once('message', resolve)));
      expect(niceOf(tid)).toBe(background);
      await w.terminate();
    });

    it('sets a replacement worker back to the gateway priority (as root; unprivileged, it warns and stays lower)', async () => {
      const t = apps.at(-1)!;
      const gateway = t.app.gateway!;
      const first = gateway.osThreadId;
      expect(first).toBeDefined();
      await gateway.killWorker();
      await waitFor(() => gateway.restarts === 1 && gateway.osThreadId !== first, { what: 'a replacement gateway worker' });
      const replacement = gateway.osThreadId!;
      // Created by the lowered main thread, it started at the background priority; root may raise it back.
      const expected = process.getuid?.() === 0 ? base : background;
      await waitFor(async () => (await priorityGauge(t)).gateway === expected, { what: `the gauge at nice ${expected}` });
      if (isolation === 'thread') expect(niceOf(replacement)).toBe(expected);
      const own = gatewayNices(t);
      expect(own).toEqual(own.map(() => expected));
      expect(niceOf(process.pid)).toBe(background);
    });
  });
}
