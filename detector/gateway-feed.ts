import type { ListState } from '../core/enforcement/revocation-list.ts';
import type { TokenDebit } from '../core/enforcement/token-debt.ts';
import type { Change, Entry } from '../core/enforcement/types.ts';
import type { FeedMessage } from './gateway-mirror.ts';
import type { RemainingSnapshot } from './quota-remaining.ts';

export interface GatewayFeedOptions {
  /** The detector's revocation list: its changes once they are written to the store, and its state. */
  list: {
    onChange(listener: (changes: Change[]) => void): void;
    get(kind: string, id: string): Entry | undefined;
    readonly version: number;
    state(): ListState;
    changesAfter(since: number): Change[] | null;
  };
  /** When the detector's view was last known current. */
  currentAt: () => number;
  now: () => number;
}

/**
 * Tells every gateway-facing copy of the detector's state (detector/gateway-mirror.ts: the API port's, the gateway
 * worker's) what changed: each list change once it is in the store (the moment long-polls wake, so a version a
 * gateway saw never goes back), and after each tick what is left of each quota and how current the view is.
 * Every subscriber gets the same messages in the same order.
 */
export function createGatewayFeed(o: GatewayFeedOptions) {
  /** Each copy with the version its whole state was taken at: changes up to it are already in that copy. */
  const subscribers: { send: (m: FeedMessage) => void; from: number }[] = [];
  let sent = -1;
  let remaining: RemainingSnapshot = [];
  let current = -1;
  let start: Extract<FeedMessage, { t: 'list' }> | undefined;

  const send = (m: FeedMessage) => {
    for (const s of subscribers) s.send(m);
  };
  const whole = (): Extract<FeedMessage, { t: 'list' }> => ({ t: 'list', state: o.list.state(), at: o.now() });
  // Entities throttled by tokens per minute: only their stored usage is passed on, and none is read when there are none.
  const key = (kind: string, id: string) => `${kind}\u0000${id}`;
  const tokenLimited = new Set<string>();
  const track = (kind: string, id: string, e: Entry | undefined) => {
    if (e?.action === 'throttle' && e.limit?.tokens_per_minute !== undefined) tokenLimited.add(key(kind, id));
    else tokenLimited.delete(key(kind, id));
  };
  for (const e of o.list.state().entries) track(e.kind, e.id, e);

  // Changes are sent from the list's own history, so two changes persisted out of order still arrive in order.
  o.list.onChange((made) => {
    for (const c of made) track(c.kind, c.id, c.op === 'remove' ? undefined : c.entry);
    if (subscribers.length === 0) return;
    const changes = o.list.changesAfter(sent);
    const m: FeedMessage = changes ? { t: 'changes', changes, at: o.now() } : whole();
    if (m.t === 'changes' && m.changes.length === 0) return;
    sent = m.t === 'list' ? m.state.version : m.changes.at(-1)!.version;
    if (m.t === 'list') return send(m);
    for (const s of subscribers) {
      // A copy that joined later (a restarted worker) has part of these already.
      if (s.from >= sent) continue;
      s.send(s.from < m.changes[0]!.version ? m : { ...m, changes: m.changes.filter((c) => c.version > s.from) });
    }
  });

  return {
    /** A new copy: it gets the whole state now and every message from then on. */
    subscribe(s: (m: FeedMessage) => void): () => void {
      // Copies subscribed together (at start, before the list moves) get the same bytes, `at` included.
      if (!start || start.state.version !== o.list.version) start = whole();
      if (subscribers.length === 0) sent = start.state.version;
      const sub = { send: s, from: start.state.version };
      subscribers.push(sub);
      s(start);
      s({ t: 'remaining', snapshot: remaining });
      s({ t: 'current', at: o.currentAt() });
      return () => {
        const i = subscribers.indexOf(sub);
        if (i >= 0) subscribers.splice(i, 1);
      };
    },
    /** The quota job's evaluation of a tick (QuotaRemaining's onCommit). */
    remaining(snapshot: RemainingSnapshot): void {
      remaining = snapshot;
      send({ t: 'remaining', snapshot });
    },
    /** Whether any entity is throttled by tokens per minute (else stored usage need not be read for it). */
    wantsUsage: (): boolean => tokenLimited.size > 0,
    /** Usage just stored: the tokens of entities throttled by tokens per minute go to every copy, summed per entity. */
    usage(events: Iterable<{ entities: readonly { kind: string; id: string }[]; tokens: number }>): void {
      if (tokenLimited.size === 0 || subscribers.length === 0) return;
      const sums = new Map<string, TokenDebit>();
      for (const ev of events) {
        if (!(ev.tokens > 0)) continue;
        for (const e of ev.entities) {
          const k = key(e.kind, e.id);
          if (!tokenLimited.has(k)) continue;
          const d = sums.get(k);
          if (d) d[2] += ev.tokens;
          else sums.set(k, [e.kind, e.id, ev.tokens]);
        }
      }
      if (sums.size > 0) send({ t: 'usage', debits: [...sums.values()] });
    },
    /** After each tick (and at start): how current the detector's view is now. */
    tick(): void {
      const at = o.currentAt();
      if (at === current) return;
      current = at;
      send({ t: 'current', at });
    },
  };
}
export type GatewayFeed = ReturnType<typeof createGatewayFeed>;
