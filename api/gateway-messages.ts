import type { IncomingHttpHeaders } from 'node:http';
import type { FailMode } from '../core/enforcement/decide.ts';
import type { Tokens } from './auth.ts';
import type { AuthorizeAnswer, GatewayHeaders } from './authorize-answer.ts';
import type { GatewayHttpLimits } from './gateway-http.ts';

// What crosses between the main thread and the gateway worker (api/gateway-listener.ts, api/gateway-worker.ts).

/** What the worker starts with (structured-clone safe). */
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
  /** Int32Array over it: [0] = long-polls waiting, [1] = scavenges, [2] = their total pause (µs). */
  stats: SharedArrayBuffer;
}

/** What the worker tells (or asks) the main thread. */
export type WorkerReport =
  | { t: 'listening'; port: number; tid?: number | undefined }
  | { t: 'failed'; message: string; code?: string | undefined }
  | { t: 'error'; message: string }
  | { t: 'authorize'; id: number; headers: IncomingHttpHeaders; raw: string[] }
  | ({ t: 'counts' } & WorkerCounts)
  | { t: 'stopped' };

/** What the worker answered since its last report (sent about once a second while it answers anything). */
export interface WorkerCounts {
  /** Forward-auth decisions by outcome (allow, allow_stale, deny, throttle, unavailable). */
  authorize: Record<string, number>;
  /** `/v1/revocations` answers by HTTP status. */
  polls: Record<string, number>;
}

/** What the main thread tells the worker besides the feed. */
export type WorkerCommand = { t: 'answer'; id: number; answer: AuthorizeAnswer } | { t: 'stop' };
