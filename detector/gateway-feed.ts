import type { ListState } from '../core/enforcement/revocation-list.ts';
import type { Change } from '../core/enforcement/types.ts';
import type { FeedMessage } from './gateway-mirror.ts';
import type { RemainingSnapshot } from './quota-remaining.ts';

export interface GatewayFeedOptions {
  /** The detector's revocation list: its changes once they are written to the store, and its state. */
  list: {
    onChange(listener: (changes: Change[]) => void): void;
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
  const subscribers: ((m: FeedMessage) => void)[] = [];
  let sent = -1;
  let remaining: RemainingSnapshot = [];
  let current = -1;
  let start: Extract<FeedMessage, { t: 'list' }> | undefined;

  const send = (m: FeedMessage) => {
    for (const s of subscribers) s(m);
  };
  const whole = (): Extract<FeedMessage, { t: 'list' }> => ({ t: 'list', state: o.list.state(), at: o.now() });

  // Changes are sent from the list's own history, so two changes persisted out of order still arrive in order.
  o.list.onChange(() => {
    if (subscribers.length === 0) return;
    const changes = o.list.changesAfter(sent);
    const m: FeedMessage = changes ? { t: 'changes', changes, at: o.now() } : whole();
    if (m.t === 'changes' && m.changes.length === 0) return;
    sent = m.t === 'list' ? m.state.version : m.changes.at(-1)!.version;
    send(m);
  });

  return {
    /** A new copy: it gets the whole state now and every message from then on. */
    subscribe(s: (m: FeedMessage) => void): () => void {
      // Copies subscribed together (at start, before the list moves) get the same bytes, `at` included.
      if (subscribers.length === 0 || o.list.version !== sent) {
        start = whole();
        sent = start.state.version;
      }
      subscribers.push(s);
      s(start!);
      s({ t: 'remaining', snapshot: remaining });
      s({ t: 'current', at: o.currentAt() });
      return () => {
        const i = subscribers.indexOf(s);
        if (i >= 0) subscribers.splice(i, 1);
      };
    },
    /** The quota job's evaluation of a tick (QuotaRemaining's onCommit). */
    remaining(snapshot: RemainingSnapshot): void {
      remaining = snapshot;
      send({ t: 'remaining', snapshot });
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
