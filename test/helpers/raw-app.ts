import { afterAll, beforeAll } from 'vitest';
import { startApp, type TestApp } from './app.ts';
import { closeFuzzAgent } from './fuzz-http.ts';

/**
 * One app for a test file that speaks raw HTTP (test/helpers/fuzz-http.ts): started before the file's tests, closed
 * after them together with the kept-alive sockets. Read `current` inside the tests.
 */
export function rawApp(): { readonly current: TestApp } {
  let app: TestApp | undefined;
  beforeAll(async () => {
    app = await startApp({ startLoop: false });
  });
  afterAll(async () => {
    closeFuzzAgent();
    await app?.close({ cleanup: true });
  });
  return {
    get current(): TestApp {
      if (!app) throw new Error('rawApp: the app is read before beforeAll started it');
      return app;
    },
  };
}
