import type { Cause, Change, Entry } from './types.ts';

const STRENGTH = { throttle: 1, revoke: 2 } as const;

/** The strongest cause wins: revoke over throttle; among equals the newest. */
function strongest(causes: readonly Cause[]): Cause {
  return causes.reduce((best, c) =>
    STRENGTH[c.action] > STRENGTH[best.action] || (STRENGTH[c.action] === STRENGTH[best.action] && c.created_at > best.created_at) ? c : best,
  );
}

function toEntry(kind: string, id: string, causes: Cause[]): Entry {
  const top = strongest(causes);
  return { kind, id, ...top, causes };
}

/** A list as plain data (structured-clone safe): what `state()` gives and `restore()` takes. */
export interface ListState {
  version: number;
  entries: Entry[];
  history: Change[];
}

const keyOf = (kind: string, id: string) => `${kind}\u0000${id}`;

/**
 * The versioned revocation list, in memory. Every mutation returns the change it made (or null when nothing
 * changed) so the caller can persist it; replaying persisted changes rebuilds the same list.
 */
export class RevocationList {
  private readonly entries = new Map<string, Entry>();
  private readonly history: Change[] = [];
  private currentVersion = 0;

  constructor(private readonly historyLimit = 10_000) {}

  get version(): number {
    return this.currentVersion;
  }

  list(): Entry[] {
    return [...this.entries.values()];
  }

  get(kind: string, id: string): Entry | undefined {
    return this.entries.get(keyOf(kind, id));
  }

  /** Adds or replaces the cause with the same source and ref. */
  addCause(kind: string, id: string, cause: Cause): Change | null {
    const existing = this.get(kind, id);
    const others = (existing?.causes ?? []).filter((c) => !(c.source === cause.source && c.ref === cause.ref));
    const before = existing ? JSON.stringify(existing) : '';
    const entry = toEntry(kind, id, [...others, cause]);
    if (JSON.stringify(entry) === before) return null;
    return this.commit({ version: this.currentVersion + 1, op: 'upsert', kind, id, entry });
  }

  /** Removes every cause (manual restore) or those matching a filter. */
  removeCauses(kind: string, id: string, filter: (c: Cause) => boolean = () => true): Change | null {
    const existing = this.get(kind, id);
    if (!existing) return null;
    const left = existing.causes.filter((c) => !filter(c));
    if (left.length === existing.causes.length) return null;
    if (left.length === 0) return this.commit({ version: this.currentVersion + 1, op: 'remove', kind, id });
    return this.commit({ version: this.currentVersion + 1, op: 'upsert', kind, id, entry: toEntry(kind, id, left) });
  }

  /** Drops causes whose expires_at has passed; `removed` is told each entry (as it was) that left the list with it. */
  expire(nowIso: string, removed?: (entry: Entry) => void): Change[] {
    const changes: Change[] = [];
    for (const e of [...this.entries.values()]) {
      const c = this.removeCauses(e.kind, e.id, (cause) => cause.expires_at !== undefined && cause.expires_at <= nowIso);
      if (!c) continue;
      changes.push(c);
      if (c.op === 'remove') removed?.(e);
    }
    return changes;
  }

  /** Applies a persisted change (restart) or a freshly made one. */
  commit(change: Change): Change {
    const k = keyOf(change.kind, change.id);
    if (change.op === 'remove') this.entries.delete(k);
    else if (change.entry) this.entries.set(k, change.entry);
    this.currentVersion = Math.max(this.currentVersion, change.version);
    this.history.push(change);
    if (this.history.length > this.historyLimit) this.history.splice(0, this.history.length - this.historyLimit);
    return change;
  }

  /** Everything a copy needs to answer as this list does (entries, version and the kept history), as plain data. */
  state(): ListState {
    return { version: this.currentVersion, entries: this.list(), history: [...this.history] };
  }

  /** A copy of a list from its `state()` (the gateway worker holds one). */
  static restore(s: ListState, historyLimit = 10_000): RevocationList {
    const list = new RevocationList(historyLimit);
    for (const e of s.entries) list.entries.set(keyOf(e.kind, e.id), e);
    list.history.push(...s.history.slice(-historyLimit));
    list.currentVersion = s.version;
    return list;
  }

  /** The changes after `since` in the order they were made; null when the kept history does not reach back to it. */
  changesAfter(since: number): Change[] | null {
    if (since >= this.currentVersion) return [];
    const oldest = this.history[0];
    if (!oldest || oldest.version > since + 1) return null;
    return this.history.filter((c) => c.version > since);
  }

  /** Changes after `since`, folded per entity; null when `since` is older than the kept history. */
  delta(since: number): { added: Entry[]; removed: { kind: string; id: string }[] } | null {
    const oldest = this.history[0];
    if (since < this.currentVersion && (!oldest || oldest.version > since + 1)) return null;
    if (since > this.currentVersion) return null;
    const touched = new Map<string, { kind: string; id: string }>();
    for (const c of this.history) if (c.version > since) touched.set(keyOf(c.kind, c.id), { kind: c.kind, id: c.id });
    const added: Entry[] = [];
    const removed: { kind: string; id: string }[] = [];
    for (const [k, ref] of touched) {
      const e = this.entries.get(k);
      if (e) added.push(e);
      else removed.push(ref);
    }
    return { added, removed };
  }
}
