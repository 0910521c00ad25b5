import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { RevocationList } from '../core/enforcement/revocation-list.ts';
import type { Cause, Change, Entry } from '../core/enforcement/types.ts';
import type { EnforcementRepo, LoggedChange } from '../store/enforcement-repo.ts';

export interface ChangeContext {
  actor: string;
  reason: string;
  source: string;
}

/**
 * The revocation list service: mutations are serialized, logged to ClickHouse (retrying when the store is
 * briefly away), and wake long-polling gateways.
 */
export function createEnforcement(deps: { repo: EnforcementRepo; logger: Logger; now: () => number }) {
  const list = new RevocationList();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  // Long-polling gateways: a Set, so a thousand waiters wake (and leave) in O(1) each.
  const waiters = new Set<() => void>();
  let unsaved: LoggedChange[] = [];
  const loadedAt = deps.now();

  async function persist(changes: Change[], ctx: ChangeContext): Promise<void> {
    const at = deps.now();
    unsaved.push(...changes.map((c) => ({ ...c, at, ...ctx })));
    await flushUnsaved();
    if (changes.length > 0) {
      events.emit('change', changes, ctx);
      for (const w of [...waiters]) w();
    }
  }

  async function flushUnsaved(): Promise<void> {
    const pending = unsaved;
    unsaved = [];
    for (let i = 0; i < pending.length; i++) {
      try {
        await deps.repo.append(pending[i]!);
      } catch (err) {
        deps.logger.error({ err }, 'cannot persist revocation list change; will retry');
        unsaved = [...pending.slice(i), ...unsaved];
        return;
      }
    }
  }

  return {
    async load(): Promise<void> {
      for (const c of await deps.repo.loadAll()) list.commit(c);
    },
    get version(): number {
      return list.version;
    },
    snapshot(): { version: number; entries: Entry[] } {
      return { version: list.version, entries: list.list() };
    },
    get: (kind: string, id: string) => list.get(kind, id),
    delta: (since: number) => list.delta(since),
    async addCause(kind: string, id: string, cause: Cause, actor: string): Promise<Entry | undefined> {
      const change = list.addCause(kind, id, cause);
      if (change) await persist([change], { actor, reason: cause.reason, source: cause.source });
      return list.get(kind, id);
    },
    async removeCauses(kind: string, id: string, filter: (c: Cause) => boolean, ctx: ChangeContext): Promise<boolean> {
      const change = list.removeCauses(kind, id, filter);
      if (change) await persist([change], ctx);
      return change !== null;
    },
    async expire(): Promise<void> {
      const changes = list.expire(new Date(deps.now()).toISOString());
      if (changes.length > 0) await persist(changes, { actor: 'tollkeeper', reason: 'expired', source: 'expiry' });
      else if (unsaved.length > 0) await flushUnsaved();
    },
    /** Resolves when the version moves past `since`, or after `timeoutMs`. */
    waitForChange(since: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
      if (list.version !== since || signal?.aborted) return Promise.resolve();
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
    /** Gateways waiting in a long poll right now. */
    get waiting(): number {
      return waiters.size;
    },
    /** When the list was loaded from the store (the detector's ticks keep it current from then on). */
    loadedAt,
    onChange(listener: (changes: Change[], ctx: ChangeContext) => void): void {
      events.on('change', listener);
    },
    history: (kind: string, id: string) => deps.repo.history(kind, id),
  };
}
export type Enforcement = ReturnType<typeof createEnforcement>;
