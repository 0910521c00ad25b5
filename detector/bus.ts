import type { BusEvent } from '../core/events.ts';

export type { BusEvent, BusEventType } from '../core/events.ts';

/** Where detector findings go: webhooks, email, logs. Notifiers must never block or throw into detection. */
export interface Bus {
  publish(events: BusEvent[]): void;
}

export function createBus(subscribers: ((events: BusEvent[]) => void)[] = []): Bus & { subscribe(fn: (events: BusEvent[]) => void): void } {
  return {
    publish(events) {
      if (events.length === 0) return;
      for (const s of subscribers) {
        try {
          s(events);
        } catch {
          // a notifier's failure is its own to report
        }
      }
    },
    subscribe(fn) {
      subscribers.push(fn);
    },
  };
}
