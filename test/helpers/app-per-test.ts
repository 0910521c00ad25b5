import { afterEach } from 'vitest';
import type { TestApp } from './app.ts';

/**
 * For a file whose tests each start their own app: put it in `slot.app`; after each test it is closed with its
 * data directory, then `slot.cleanups` run (receivers and the like), last registered first.
 */
export function appPerTest(): { app: TestApp | undefined; cleanups: (() => Promise<void>)[] } {
  const slot: { app: TestApp | undefined; cleanups: (() => Promise<void>)[] } = { app: undefined, cleanups: [] };
  afterEach(async () => {
    await slot.app?.close({ cleanup: true });
    slot.app = undefined;
    for (const c of slot.cleanups.splice(0).reverse()) await c();
  });
  return slot;
}
