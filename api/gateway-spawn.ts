import { gatewayWorkerCode } from './gateway-bundle.ts';
import type { GatewayChild, GatewayIsolation } from './gateway-child.ts';
import type { GatewayWorkerData, WorkerReport } from './gateway-messages.ts';
import { newGatewayProcess } from './gateway-process.ts';
import { newGatewayThread } from './gateway-thread.ts';

export interface RunningWorker {
  child: GatewayChild;
  port: number;
  /** The OS process the worker runs in (this one's, for a thread). */
  pid: number;
  /** The OS id of the thread that serves (Linux; undefined elsewhere): the worker process's main thread, or the worker thread. */
  tid: number | undefined;
}

/**
 * Starts one gateway worker and resolves once its server listens; rejects (and ends the worker) when it cannot.
 * `onReport` gets every message after that; `beforeListening` runs once the worker exists, before it starts (to
 * feed it: what it is sent first is applied before its server listens, and nothing after is missed).
 */
export async function spawnGatewayWorker(
  isolation: GatewayIsolation,
  data: GatewayWorkerData,
  onReport: (m: WorkerReport, child: GatewayChild) => void,
  beforeListening: (child: GatewayChild) => void,
): Promise<RunningWorker> {
  const code = await gatewayWorkerCode();
  const child = isolation === 'process' ? newGatewayProcess(code) : newGatewayThread(code);
  return new Promise<RunningWorker>((resolve, reject) => {
    let listening = false;
    let failed = false;
    const fail = (message: string, code?: string) => {
      if (failed) return;
      failed = true;
      void child.kill();
      // With the errno's code, so the CLI says which port to change (EADDRINUSE).
      reject(Object.assign(new Error(`gateway listener: cannot listen on ${data.host}:${data.port}: ${message}`), code ? { code } : {}));
    };
    child.onMessage((m) => {
      if (listening) return onReport(m, child);
      if (m.t === 'listening') {
        listening = true;
        resolve({ child, port: m.port, pid: m.pid, tid: m.tid });
      } else if (m.t === 'failed') fail(m.message, m.code);
      else onReport(m, child);
    });
    child.onError((err) => {
      if (!listening) fail(err.message);
    });
    child.onExit((code) => {
      if (!listening) fail(`the worker exited (code ${code}) before listening`);
    });
    // The feed's first messages (the whole list, the quota evaluation, how current it is) go before `init`: the worker
    // holds them until it starts, applies them, then listens, so its first answer is from the whole state.
    beforeListening(child);
    child.send({ t: 'init', data });
  });
}
