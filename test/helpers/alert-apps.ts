// One app per test for the alert tests, with the webhook and SMTP receivers it talks to; all closed after each test.
import { afterEach } from 'vitest';
import { startHookReceiver, startSmtp } from './alert-receivers.ts';
import type { TestApp } from './app.ts';

/** Registers an afterEach that closes the test's app (`use(app)`) and every receiver it started. */
export function useAlertApps() {
  let app: TestApp | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await app?.close({ cleanup: true });
    app = undefined;
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    /** The app of this test, closed after it. */
    use(t: TestApp): TestApp {
      app = t;
      return t;
    },
    async hookReceiver(secret: string | undefined) {
      const r = await startHookReceiver(secret);
      cleanups.push(() => r.stop());
      return r;
    },
    async smtp() {
      const s = await startSmtp();
      cleanups.push(() => s.stop());
      return s;
    },
  };
}
