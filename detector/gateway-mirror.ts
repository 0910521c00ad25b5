import { RevocationList, type ListState } from '../core/enforcement/revocation-list.ts';
import type { TokenDebit } from '../core/enforcement/token-debt.ts';
import type { Change, Entry } from '../core/enforcement/types.ts';
import { createQuotaRemaining, type RemainingSnapshot } from './quota-remaining.ts';

/**
 * What the detector tells the places gateways are answered from (detector/gateway-feed.ts sends it), as plain
 * data so it crosses to a worker thread by postMessage:
 * - `list`: the whole revocation list (at start, or when a copy fell behind the kept history);
 * - `changes`: the changes the list made since the last message, in order;
 * - `remaining`: the quota job's last evaluation (after each tick);
 * - `current`: when the detector's view was last known current (after each tick);
 * - `usage`: tokens just stored for entities throttled by tokens per minute (their post-paid buckets are debited).
 * `at` on list messages is when the list reached that version here: the `generated_at` of its bodies.
 */
export type FeedMessage =
  | { t: 'list'; state: ListState; at: number }
  | { t: 'changes'; changes: Change[]; at: number }
  | { t: 'remaining'; snapshot: RemainingSnapshot }
  | { t: 'current'; at: number }
  | { t: 'usage'; debits: TokenDebit[] };

/**
 * A copy of the gateway-facing state, kept by applying feed messages: the revocation list (with its history, so
 * `?since` deltas answer the same as the detector's own list), what is left of each quota, and how current the
 * detector's view is. It answers the revocation list and forward-auth; the API port and the gateway worker each
 * hold one, fed the same messages, so both answer the same bytes. Long-polls wait on it.
 */
export function createGatewayMirror() {
  let list = new RevocationList();
  let versionAt = 0;
  let currentAt = 0;
  const remaining = createQuotaRemaining();
  const listeners: ((changes: Change[]) => void)[] = [];
  const usageListeners: ((debits: TokenDebit[]) => void)[] = [];
  // Long-polling gateways: a Set, so a thousand waiters wake (and leave) in O(1) each.
  const waiters = new Set<() => void>();
  // Set on shutdown: every long poll is answered now (the unchanged delta, or 304) instead of being cut off.
  let released = false;

  function wake(): void {
    for (const w of [...waiters]) w();
  }

  return {
    apply: (m: FeedMessage): void => {
      switch (m.t) {
        case 'list': {
          const before = list;
          list = RevocationList.restore(m.state);
          versionAt = m.at;
          // Buckets of entities no longer listed are dropped like on a removal.
          const gone = before.list().filter((e) => !list.get(e.kind, e.id));
          if (gone.length > 0) for (const l of listeners) l(gone.map((e) => ({ version: list.version, op: 'remove', kind: e.kind, id: e.id })));
          if (before.version !== list.version) wake();
          return;
        }
        case 'changes':
          if (m.changes.length === 0) return;
          for (const c of m.changes) list.commit(c);
          versionAt = m.at;
          for (const l of listeners) l(m.changes);
          wake();
          return;
        case 'remaining':
          remaining.load(m.snapshot);
          return;
        case 'current':
          currentAt = m.at;
          return;
        case 'usage':
          for (const l of usageListeners) l(m.debits);
          return;
      }
    },
    get version(): number {
      return list.version;
    },
    /** When the list reached its current version (ms). */
    get versionAt(): number {
      return versionAt;
    },
    currentAt: () => currentAt,
    get: (kind: string, id: string): Entry | undefined => list.get(kind, id),
    snapshot: (): { version: number; entries: Entry[] } => ({ version: list.version, entries: list.list() }),
    delta: (since: number) => list.delta(since),
    remainingFor: (entities: Parameters<typeof remaining.remainingFor>[0], now: number) => remaining.remainingFor(entities, now),
    onChange(listener: (changes: Change[]) => void): void {
      listeners.push(listener);
    },
    onUsage(listener: (debits: TokenDebit[]) => void): void {
      usageListeners.push(listener);
    },
    /** Resolves when the version moves past `since`, after `timeoutMs`, or when `signal` aborts. */
    waitForChange(since: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
      if (list.version !== since || signal?.aborted || released) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        waiters.add(done);
        signal?.addEventListener('abort', done);
      });
    },
    /** Shutdown: ends every long poll now and every later one at once, so each gets an answer before the listener closes. */
    releaseWaiters(): void {
      released = true;
      wake();
    },
    /** Gateways waiting in a long poll right now. */
    get waiting(): number {
      return waiters.size;
    },
  };
}
export type GatewayMirror = ReturnType<typeof createGatewayMirror>;
