import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { RevocationList } from '../core/enforcement/revocation-list.ts';
import type { AddCause, LiftCauses } from '../core/enforcement/cause.ts';
import type { LeftList } from '../core/enforcement/restored.ts';
import type { Cause, Change, Entry } from '../core/enforcement/types.ts';
import type { EnforcementRepo, LoggedChange } from '../store/enforcement-repo.ts';

export interface ChangeContext {
  actor: string;
  reason: string;
  source: string;
}

/**
 * The revocation list service: mutations are serialized, logged to ClickHouse (retrying when the store is
 * briefly away), and then told to listeners (the gateway feed: detector/gateway-feed.ts).
 */
export function createEnforcement(deps: { repo: EnforcementRepo; logger: Logger; now: () => number }) {
  const list = new RevocationList();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let unsaved: LoggedChange[] = [];
  const loadedAt = deps.now();

  /**
   * Logs changes already made in memory in one insert, then tells listeners once (the gateway feed, which wakes
   * long-polling gateways): a tick that revokes 500 keys costs one write and one wake-up. Versions still advance
   * one per change.
   */
  async function persist(changes: LoggedChange[]): Promise<void> {
    unsaved.push(...changes);
    await flushUnsaved();
    if (changes.length > 0) events.emit('change', changes);
  }

  async function flushUnsaved(): Promise<void> {
    const pending = unsaved;
    unsaved = [];
    if (pending.length === 0) return;
    try {
      // One block: it lands whole or not at all, so a retry neither loses nor duplicates part of it.
      await deps.repo.append(pending);
    } catch (err) {
      deps.logger.error({ err, changes: pending.length }, 'cannot persist revocation list changes; will retry');
      unsaved = [...pending, ...unsaved];
    }
  }

  const logged = (c: Change, ctx: ChangeContext, at: number): LoggedChange => ({ ...c, at, ...ctx });

  /** Carries out a decision's causes: adds, then lifts (each step decides one or the other per entity); one write. */
  async function apply(d: { add: readonly AddCause[]; lift: readonly LiftCauses[] }): Promise<{ lifted: LiftCauses[]; left: LeftList[] }> {
    const at = deps.now();
    const changes: LoggedChange[] = [];
    const lifted: LiftCauses[] = [];
    const left: LeftList[] = [];
    for (const a of d.add) {
      const c = list.addCause(a.kind, a.id, a.cause);
      if (c) changes.push(logged(c, { actor: a.actor, reason: a.cause.reason, source: a.cause.source }, at));
    }
    for (const l of d.lift) {
      const only = l.only;
      const before = list.get(l.kind, l.id);
      const c = list.removeCauses(l.kind, l.id, only ? (x) => x.source === only.source && x.ref === only.ref : () => true);
      if (!c) continue;
      if (c.op === 'remove' && before) left.push({ entry: before, reason: l.reason });
      changes.push(logged(c, { actor: l.actor, reason: l.reason, source: l.source }, at));
      lifted.push(l);
    }
    await persist(changes);
    return { lifted, left };
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
    /** The whole list as plain data, and the changes after a version (the gateway feed copies the list with them). */
    state: () => list.state(),
    changesAfter: (since: number) => list.changesAfter(since),
    apply,
    async addCause(kind: string, id: string, cause: Cause, actor: string): Promise<Entry | undefined> {
      await apply({ add: [{ kind, id, cause, actor }], lift: [] });
      return list.get(kind, id);
    },
    async removeCauses(kind: string, id: string, filter: (c: Cause) => boolean, ctx: ChangeContext): Promise<boolean> {
      const change = list.removeCauses(kind, id, filter);
      if (change) await persist([logged(change, ctx, deps.now())]);
      return change !== null;
    },
    /** Drops the causes whose time is up; answers the entities that left the list with it. */
    async expire(): Promise<LeftList[]> {
      const at = deps.now();
      const left: LeftList[] = [];
      const changes = list.expire(new Date(at).toISOString(), (entry) => left.push({ entry, reason: 'expired' }));
      if (changes.length > 0) await persist(changes.map((c) => logged(c, { actor: 'tollkeeper', reason: 'expired', source: 'expiry' }, at)));
      else if (unsaved.length > 0) await flushUnsaved();
      return left;
    },
    /** When the list was loaded from the store (the detector's ticks keep it current from then on). */
    loadedAt,
    /** Called once per batch of changes (one decision, one expiry pass), after they are logged. */
    onChange(listener: (changes: LoggedChange[]) => void): void {
      events.on('change', listener);
    },
    history: (kind: string, id: string) => deps.repo.history(kind, id),
  };
}
export type Enforcement = ReturnType<typeof createEnforcement>;
