import type { BusEvent } from '../core/events.ts';

export type { BusEvent, BusEventType } from '../core/events.ts';

/** A subscriber may return a promise: settled once it has taken the events for good (the notifier: stored). */
export type BusSubscriber = (events: BusEvent[]) => unknown;

/** Where detector findings go: webhooks, email, logs. Notifiers must never block or throw into detection. */
export interface Bus {
  /**
   * Hands the events to every subscriber and returns at once; the promise settles (never rejects) when each has
   * taken them for good. The detector does not wait for it; the enforcement API does, so a revocation it
   * acknowledged has its alert deliveries stored and a crash right after the answer cannot lose them.
   */
  publish(events: BusEvent[]): Promise<void>;
}

export function createBus(subscribers: BusSubscriber[] = []): Bus & { subscribe(fn: BusSubscriber): void } {
  return {
    publish(events) {
      if (events.length === 0) return Promise.resolve();
      const taken: Promise<unknown>[] = [];
      for (const s of subscribers) {
        try {
          const r = s(events);
          // a notifier's failure is its own to report
          if (r instanceof Promise) taken.push(r.catch(() => undefined));
        } catch {
          // a notifier's failure is its own to report
        }
      }
      return Promise.all(taken).then(() => undefined);
    },
    subscribe(fn) {
      subscribers.push(fn);
    },
  };
}
