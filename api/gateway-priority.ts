import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import type { Logger } from 'pino';
import { backgroundNice, niceToLower } from '../core/thread-priority.ts';

/** What the OS offers for thread priorities (an interface so tests can make it refuse). */
export interface ThreadPriorityOs {
  platform: NodeJS.Platform;
  /** The main thread's OS id (Linux: the process id). */
  mainThread: number;
  /** The OS thread ids of this process (Linux: /proc/self/task), or of process `pid`. */
  threads(pid?: number): number[];
  /** A thread's nice value. */
  nice(tid: number): number;
  setNice(tid: number, nice: number): void;
}

// On Linux nice is per thread: setpriority(PRIO_PROCESS, tid) (os.setPriority) changes that one thread, and a thread
// or process inherits the nice value of the thread that creates it.
export const osThreadPriority: ThreadPriorityOs = {
  platform: process.platform,
  mainThread: process.pid,
  threads: (pid) => readdirSync(`/proc/${pid ?? 'self'}/task`).map(Number).filter(Number.isInteger),
  nice: (tid) => getPriority(tid),
  setNice: (tid, nice) => setPriority(tid, nice),
};

/** The gateway worker's OS process (this one's when it is a thread) and serving thread (undefined when unknown). */
export interface GatewayWorkerIds {
  pid: number;
  tid: number | undefined;
}

/** Where the gateway worker and the process's other threads (read from the main thread) run now. */
export interface PriorityOutcome {
  gateway: number;
  background: number;
}

export interface GatewayPriorityOptions {
  /** `gateway.background_nice`: how much lower than the gateway worker every other thread runs (0 = off). */
  offset: number;
  logger: Logger;
  /** The nice values after each worker start (for /metrics). */
  onOutcome?: ((o: PriorityOutcome) => void) | undefined;
  os?: ThreadPriorityOs | undefined;
}

/** The errno code of an os.setPriority/getPriority failure (node wraps it in ERR_SYSTEM_ERROR). */
function errnoCode(err: unknown): string | undefined {
  const e = err as { info?: { code?: unknown }; code?: unknown };
  const code = e?.info?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Keeps the gateway listener ahead of the rest of the app for the CPU: at each worker start every thread of this
 * process but the worker's (main thread included, so the threads it creates later inherit it) gets the worker's nice
 * plus `offset`. A worker in a process of its own was started before that, at the app's nice, and keeps it. A
 * replacement worker, created by the lowered main thread, is set back to the first worker's nice (every thread of its
 * process, when it has one); an OS that refuses (no CAP_SYS_NICE) gets one warning and the gateway keeps running, at
 * background priority.
 */
export function createGatewayPriority(o: GatewayPriorityOptions): { workerStarted(w: GatewayWorkerIds): void } {
  const os = o.os ?? osThreadPriority;
  const log = o.logger;
  let gatewayNice: number | undefined;
  let noted = false;
  let refusedRestore = false;

  /** Lowers every thread but `tid` to `target`; returns how many moved and the first failure. */
  function lowerOthers(tid: number, target: number): { lowered: number; failed: number; error?: unknown } {
    let lowered = 0;
    let failed = 0;
    let error: unknown;
    for (const t of os.threads()) {
      if (t === tid) continue;
      try {
        const nice = niceToLower(os.nice(t), target);
        if (nice === undefined) continue;
        os.setNice(t, nice);
        lowered++;
      } catch (err) {
        // A thread that ended between the listing and the call is not a failure.
        if (errnoCode(err) === 'ESRCH') continue;
        failed++;
        error ??= err;
      }
    }
    return { lowered, failed, error };
  }

  /** Sets the worker's threads (all of its process's, when it runs in one of its own) back to `nice`. */
  function restore(w: GatewayWorkerIds & { tid: number }, nice: number): void {
    const tid = w.tid;
    try {
      for (const t of w.pid === os.mainThread ? [tid] : os.threads(w.pid)) {
        try {
          if (os.nice(t) > nice) os.setNice(t, nice);
        } catch (err) {
          if (errnoCode(err) !== 'ESRCH' || t === tid) throw err;
        }
      }
    } catch (err) {
      if (refusedRestore) return;
      refusedRestore = true;
      const code = errnoCode(err);
      log.warn(
        { err, code, gatewayThread: tid, gatewayNice: nice },
        `the replacement gateway worker runs at background priority, not at nice ${nice}: ` +
          (code === 'EACCES' || code === 'EPERM' ? 'this process may not raise a thread priority back. ' : '') +
          'Grant it CAP_SYS_NICE, or set gateway.background_nice: 0 to keep every thread at the same priority',
      );
    }
  }

  return {
    workerStarted(w) {
      const tid = w.tid;
      if (os.platform !== 'linux' || tid === undefined) {
        if (!noted && o.offset > 0) {
          log.info({ platform: os.platform }, os.platform !== 'linux'
            ? `gateway.background_nice has no effect on ${os.platform}: thread priorities are set on Linux only`
            : "gateway.background_nice has no effect: the gateway worker's thread id is unknown (/proc not readable)");
        }
        noted = true;
        return;
      }
      try {
        const first = gatewayNice === undefined;
        gatewayNice ??= os.nice(tid);
        if (o.offset > 0) {
          if (!first) restore({ pid: w.pid, tid }, gatewayNice);
          const target = backgroundNice(gatewayNice, o.offset);
          const r = lowerOthers(tid, target);
          if (r.failed > 0) log.warn({ err: r.error, failed: r.failed, nice: target }, `could not lower the priority of ${r.failed} thread(s); they compete with the gateway listener`);
          if (first) {
            log.info(
              { gatewayThread: tid, gatewayNice, backgroundNice: target, threads: r.lowered },
              w.pid === os.mainThread
                ? `gateway listener's thread runs at nice ${gatewayNice}; the process's other threads at nice ${target} (gateway.background_nice: ${o.offset})`
                : `gateway listener's process runs at nice ${gatewayNice}; this process's threads at nice ${target} (gateway.background_nice: ${o.offset})`,
            );
          }
        }
        o.onOutcome?.({ gateway: os.nice(tid), background: os.nice(os.mainThread) });
      } catch (err) {
        // Priorities are an optimisation: never a reason to stop serving.
        log.warn({ err, gatewayThread: tid }, 'could not read or set thread priorities; the gateway listener runs at the process priority');
      }
    },
  };
}
