import type { IncomingHttpHeaders } from 'node:http';
import type { FailMode } from '../core/enforcement/decide.ts';
import type { Tokens } from './auth.ts';
import type { AuthorizeAnswer, GatewayHeaders } from './authorize-answer.ts';
import type { GatewayHttpLimits } from './gateway-http.ts';

// What crosses between the main thread and the gateway worker (api/gateway-listener.ts, api/gateway-worker.ts),
// by IPC to a worker process or postMessage to a worker thread: structured-clone safe, nothing shared.

/** What the worker starts with: its first message. */
export interface GatewayWorkerData {
  host: string;
  port: number;
  tokens: Tokens;
  headers: GatewayHeaders;
  nginxMode: boolean;
  hashKey: string;
  maxStalenessMs: number;
  failMode: FailMode;
  limits: GatewayHttpLimits;
}

/** The worker's counters, cumulative since it started (its event loop's idle and active time in ms, like `eventLoopUtilization()`). */
export interface WorkerStats {
  scavenges: number;
  /** Their total pause, in ms. */
  scavengePauseMs: number;
  idle: number;
  active: number;
}

/** What the worker tells (or asks) the main thread. */
export type WorkerReport =
  | { t: 'listening'; port: number; pid: number; tid?: number | undefined }
  | { t: 'failed'; message: string; code?: string | undefined }
  | { t: 'error'; message: string }
  | { t: 'authorize'; id: number; headers: IncomingHttpHeaders; raw: string[] }
  | ({ t: 'counts' } & WorkerCounts)
  /** Long-polls parked now: sent at most once per turn of its event loop, when the number changed. */
  | { t: 'waiting'; n: number }
  | ({ t: 'stats'; id: number } & WorkerStats)
  | { t: 'stopped' };

/** What the worker answered since its last report (sent about once a second while it answers anything). */
export interface WorkerCounts {
  /** Forward-auth decisions by outcome (allow, allow_stale, deny, throttle, unavailable). */
  authorize: Record<string, number>;
  /** `/v1/revocations` answers by HTTP status. */
  polls: Record<string, number>;
}

/** What the main thread tells the worker besides the feed. */
export type WorkerCommand =
  | { t: 'init'; data: GatewayWorkerData }
  | { t: 'answer'; id: number; answer: AuthorizeAnswer }
  | { t: 'stats'; id: number }
  | { t: 'stop' };
