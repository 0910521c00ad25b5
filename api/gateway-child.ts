import type { FeedMessage } from '../detector/gateway-mirror.ts';
import type { WorkerCommand, WorkerReport } from './gateway-messages.ts';

/** Where the gateway worker runs (`gateway.listener`): a process of its own, or a thread of this one. */
export type GatewayIsolation = 'process' | 'thread';

/** A running gateway worker, whichever it is: what the listener sends it, hears from it, and how it ends it. */
export interface GatewayChild {
  send(m: FeedMessage | WorkerCommand): void;
  onMessage(f: (m: WorkerReport) => void): void;
  /** Once, when it ended (its exit code, or null when a signal ended it). */
  onExit(f: (code: number | null) => void): void;
  /** It failed to start, or failed uncaught while running (a thread; a process reports that as a message). */
  onError(f: (err: Error) => void): void;
  /** Ends it at once, as a crash would; resolves once it is gone. */
  kill(): Promise<void>;
}
