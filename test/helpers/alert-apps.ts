// One app per test for the alert tests (appPerTest), with the webhook and SMTP receivers it talks to, all closed
// after each test.
import { startHookReceiver, startSmtp } from './alert-receivers.ts';
import { appPerTest } from './app-per-test.ts';
import type { TestApp } from './app.ts';

export function useAlertApps() {
  const slot = appPerTest();
  return {
    /** The app of this test, closed after it. */
    use(t: TestApp): TestApp {
      slot.app = t;
      return t;
    },
    async hookReceiver(secret: string | undefined) {
      const r = await startHookReceiver(secret);
      slot.cleanups.push(() => r.stop());
      return r;
    },
    /** Runs after this test (a server the test started itself). */
    cleanup(fn: () => Promise<void>): void {
      slot.cleanups.push(fn);
    },
    async smtp() {
      const s = await startSmtp();
      slot.cleanups.push(() => s.stop());
      return s;
    },
  };
}
