// The gateway listener's thread priorities against an OS that does what it is told, or refuses: the arithmetic
// (worker's nice + offset, capped at 19, never raising a thread's priority), the replacement worker set back, the
// one warning when the OS refuses that (no CAP_SYS_NICE), and nothing at all on other platforms.
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createGatewayPriority, type PriorityOutcome, type ThreadPriorityOs } from '../../api/gateway-priority.ts';
import { backgroundNice, niceToLower } from '../../core/thread-priority.ts';

function capture() {
  const lines: { level: number; msg: string; code?: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as { level: number; msg: string });
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

/**
 * A process (main thread 1) whose threads have the given nice values, and other processes (`children`: pid → their
 * threads' nice values); `refuse` makes raising a priority fail like an unprivileged process.
 */
function fakeOs(
  nices: Record<number, number>,
  o: { platform?: NodeJS.Platform; refuse?: string; children?: Record<number, Record<number, number>> } = {},
): ThreadPriorityOs & { nices: Map<number, number>; sets: number; spawn(pid: number, threads: Record<number, number>): void } {
  const nices_ = new Map(Object.entries(nices).map(([k, v]) => [Number(k), v]));
  const children = new Map<number, number[]>();
  const os = {
    platform: o.platform ?? 'linux',
    mainThread: 1,
    nices: nices_,
    sets: 0,
    spawn(pid: number, threads: Record<number, number>) {
      children.set(pid, Object.keys(threads).map(Number));
      for (const [tid, n] of Object.entries(threads)) nices_.set(Number(tid), n);
    },
    threads: (pid?: number) => (pid === undefined || pid === 1 ? [...nices_.keys()].filter((t) => ![...children.values()].flat().includes(t)) : (children.get(pid) ?? [])),
    nice: (tid: number) => nices_.get(tid)!,
    setNice(tid: number, nice: number) {
      os.sets++;
      if (o.refuse && nice < nices_.get(tid)!) throw Object.assign(new Error(`uv_os_setpriority returned ${o.refuse}`), { code: 'ERR_SYSTEM_ERROR', info: { code: o.refuse } });
      nices_.set(tid, nice);
    },
  };
  for (const [pid, threads] of Object.entries(o.children ?? {})) os.spawn(Number(pid), threads);
  return os;
}

/** A worker thread of the fake process. */
const thread = (tid: number | undefined) => ({ pid: 1, tid });

describe('thread priority arithmetic', () => {
  it('adds the offset to the gateway worker nice, capped at 19, and only ever lowers a thread', () => {
    expect(backgroundNice(0, 10)).toBe(10);
    expect(backgroundNice(5, 10)).toBe(15);
    expect(backgroundNice(15, 10)).toBe(19);
    expect(backgroundNice(-5, 10)).toBe(5);
    expect(niceToLower(0, 10)).toBe(10);
    expect(niceToLower(-20, 10)).toBe(10);
    expect(niceToLower(12, 10)).toBeUndefined();
    expect(niceToLower(10, 10)).toBeUndefined();
  });
});

describe('gateway priority', () => {
  it('lowers every thread but the worker to its nice + offset, leaves lower ones alone, logs it and reports the outcome', () => {
    const log = capture();
    const os = fakeOs({ 1: 0, 2: 0, 3: -20, 4: 15, 7: 0 });
    const outcomes: PriorityOutcome[] = [];
    createGatewayPriority({ offset: 10, logger: log.logger, os, onOutcome: (p) => outcomes.push(p) }).workerStarted(thread(7));
    expect(Object.fromEntries(os.nices)).toEqual({ 1: 10, 2: 10, 3: 10, 4: 15, 7: 0 });
    expect(outcomes).toEqual([{ gateway: 0, background: 10 }]);
    expect(log.lines.map((l) => l.msg)).toEqual(["gateway listener's thread runs at nice 0; the process's other threads at nice 10 (gateway.background_nice: 10)"]);
  });

  it('moves nothing with offset 0, and reports the priorities as they are', () => {
    const log = capture();
    const os = fakeOs({ 1: 3, 2: 3, 7: 3 });
    const outcomes: PriorityOutcome[] = [];
    createGatewayPriority({ offset: 0, logger: log.logger, os, onOutcome: (p) => outcomes.push(p) }).workerStarted(thread(7));
    expect(os.sets).toBe(0);
    expect(outcomes).toEqual([{ gateway: 3, background: 3 }]);
  });

  it('sets a replacement worker back to the first worker nice', () => {
    const os = fakeOs({ 1: 0, 2: 0, 7: 0 });
    const p = createGatewayPriority({ offset: 10, logger: capture().logger, os });
    p.workerStarted(thread(7));
    // The replacement is created by the lowered main thread: it inherits nice 10.
    os.nices.delete(7);
    os.nices.set(8, 10);
    p.workerStarted(thread(8));
    expect(Object.fromEntries(os.nices)).toEqual({ 1: 10, 2: 10, 8: 0 });
  });

  it('when the OS refuses to raise the replacement (EACCES): one warning saying how to avoid it, no crash, the outcome reported', () => {
    const log = capture();
    const os = fakeOs({ 1: 0, 2: 0, 7: 0 }, { refuse: 'EACCES' });
    const outcomes: PriorityOutcome[] = [];
    const p = createGatewayPriority({ offset: 10, logger: log.logger, os, onOutcome: (o) => outcomes.push(o) });
    p.workerStarted(thread(7));
    for (const tid of [8, 9]) {
      os.nices.delete(tid - 1);
      os.nices.set(tid, 10);
      expect(() => p.workerStarted(thread(tid))).not.toThrow();
    }
    const warnings = log.lines.filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain('the replacement gateway worker runs at background priority');
    expect(warnings[0]!.msg).toContain('CAP_SYS_NICE');
    expect(warnings[0]!.msg).toContain('gateway.background_nice: 0');
    expect(warnings[0]!.code).toBe('EACCES');
    expect(outcomes.at(-1)).toEqual({ gateway: 10, background: 10 });
  });

  it('skips a thread that ended while walking (ESRCH) without a warning', () => {
    const log = capture();
    const os = fakeOs({ 1: 0, 2: 0, 7: 0 });
    const set = os.setNice.bind(os);
    os.setNice = (tid, nice) => {
      if (tid === 2) throw Object.assign(new Error('gone'), { info: { code: 'ESRCH' } });
      set(tid, nice);
    };
    createGatewayPriority({ offset: 10, logger: log.logger, os }).workerStarted(thread(7));
    expect(os.nices.get(1)).toBe(10);
    expect(log.lines.filter((l) => l.level >= 40)).toEqual([]);
  });

  it('a worker in a process of its own: every thread here is lowered, the worker process left as it is, and a replacement process set back whole', () => {
    const log = capture();
    const os = fakeOs({ 1: 0, 2: 0, 3: 0 }, { children: { 50: { 50: 0, 51: 0, 52: 0 } } });
    const outcomes: PriorityOutcome[] = [];
    const p = createGatewayPriority({ offset: 10, logger: log.logger, os, onOutcome: (o) => outcomes.push(o) });
    p.workerStarted({ pid: 50, tid: 50 });
    expect(Object.fromEntries(os.nices)).toEqual({ 1: 10, 2: 10, 3: 10, 50: 0, 51: 0, 52: 0 });
    expect(outcomes).toEqual([{ gateway: 0, background: 10 }]);
    expect(log.lines.map((l) => l.msg)).toEqual(["gateway listener's process runs at nice 0; this process's threads at nice 10 (gateway.background_nice: 10)"]);
    // The replacement is started by the lowered main thread: all its threads inherit nice 10.
    for (const t of [50, 51, 52]) os.nices.delete(t);
    os.spawn(60, { 60: 10, 61: 10 });
    p.workerStarted({ pid: 60, tid: 60 });
    expect(Object.fromEntries(os.nices)).toEqual({ 1: 10, 2: 10, 3: 10, 60: 0, 61: 0 });
    expect(outcomes.at(-1)).toEqual({ gateway: 0, background: 10 });
  });

  it('does nothing on other platforms or without a thread id, and says so once', () => {
    for (const [platform, tid] of [['darwin', 7], ['linux', undefined]] as const) {
      const log = capture();
      const os = fakeOs({ 1: 0, 7: 0 }, { platform });
      const p = createGatewayPriority({ offset: 10, logger: log.logger, os });
      p.workerStarted(thread(tid));
      p.workerStarted(thread(tid));
      expect(os.sets).toBe(0);
      expect(log.lines.map((l) => l.level)).toEqual([30]);
      expect(log.lines[0]!.msg).toContain('has no effect');
    }
  });
});
