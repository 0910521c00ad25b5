// Stored XSS through the built-in web UI: ids chosen by a sender (spans) and an operator's reason text reach the
// overview, entity pages, incidents and revocations. In a real browser no script of theirs may run, and each id
// must show as the text it is (bidi controls and zero-width characters as visible code points).
import type { Browser, Page } from 'playwright-core';
import { shownText } from '../../dashboards/web/src/format.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { browserSkipReason, launchBrowser } from '../helpers/browser.ts';
import { HOSTILE } from '../helpers/hostile-ids.ts';
import { chatSpan } from '../helpers/otlp-bodies.ts';
import { waitFor } from '../helpers/wait.ts';
import { backfill, WEB_UI_YAML, webUiClient } from '../helpers/web-ui-story.ts';

const SLOW = { timeout: 20_000, interval: 100 };
const skip = browserSkipReason();
if (skip) console.warn(skip);

let t: TestApp;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const { send, api } = webUiClient(() => t);

// The burst key: an attacker names it so that the incident explanation and the revocation carry markup.
const LEAKED = HOSTILE.img;
const IDS = Object.values(HOSTILE).filter((x) => !x.includes('\r'));

async function xss(): Promise<unknown> {
  return await page.evaluate('window.__xss');
}

/** The page's visible text, as the user reads it. */
async function text(): Promise<string> {
  return (await page.locator('main').innerText()).normalize();
}

describe.skipIf(skip !== null)('hostile ids in the web UI (real browser)', () => {
  beforeAll(async () => {
    t = await startApp({ yaml: WEB_UI_YAML });
    const now = Date.now();
    await send(backfill(now));
    await send(IDS.map((id, i) => chatSpan({ 'gen_ai.request.model': i % 2 ? HOSTILE.svg : 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5, 'gen_ai.usage.cost': 0.001, 'tollkeeper.api_key.id': id, 'tenant.id': HOSTILE.script, 'gen_ai.agent.name': HOSTILE.jsUrl, 'user.id': HOSTILE.rtl })));
    await send(Array.from({ length: 40 }, () => chatSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 100_000, 'gen_ai.usage.output_tokens': 50_000, 'tollkeeper.api_key.id': LEAKED, 'tenant.id': HOSTILE.script })));
    await api('/v1/enforcement', { method: 'POST', body: { action: 'revoke', kind: 'api_key', id: HOSTILE.emoji, reason: `${HOSTILE.script} ${HOSTILE.jsUrl} ${HOSTILE.rtl}` } });
    await waitFor(
      async () => {
        const incidents = await api<{ incidents: { entity: { id: string } }[] }>('/api/incidents?status=open');
        return incidents.incidents.some((i) => i.entity.id === LEAKED);
      },
      { what: `an open incident on ${LEAKED}`, timeoutMs: 45_000, intervalMs: 250 },
    );
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${t.apiUrl}/`);
    await page.getByLabel('Admin token').fill(t.adminToken);
    await page.keyboard.press('Enter');
    await waitFor(() => page.getByRole('heading', { name: 'Overview', level: 1 }).isVisible(), { what: 'the overview after signing in', timeoutMs: 20_000, intervalMs: 100 });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close({ cleanup: true });
  });

  it('the page is served with a strict Content-Security-Policy and the usual security headers', async () => {
    const res = await fetch(`${t.apiUrl}/`);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('content-security-policy')).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('the overview lists the hostile ids as text and runs none of them', async () => {
    await expect.poll(text, SLOW).toContain(LEAKED);
    const shown = await text();
    expect(shown).toContain(HOSTILE.script);
    expect(await xss()).toBeUndefined();
    expect(await page.locator('main img, main svg:not(.u-legend svg), main script').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it.each(IDS.map((id) => [id]))('the entity page of api_key %j shows its id as the heading', async (id) => {
    await page.evaluate(`location.hash = ${JSON.stringify(`#/entity/api_key/${encodeURIComponent(id.replace(/[\uD800-\uDFFF]/g, '\uFFFD'))}`)}`);
    const expected = `api_key ${shownText(id.replace(/[\uD800-\uDFFF]/g, '\uFFFD'))}`;
    await expect.poll(async () => (await page.getByRole('heading', { level: 1 }).textContent())?.normalize(), SLOW).toBe(expected);
    expect(await xss()).toBeUndefined();
    expect(pageErrors).toEqual([]);
  });

  it('links to hostile ids stay inside the page (no javascript: URL), and following one opens its entity', async () => {
    await page.evaluate('location.hash = "#/"');
    await expect.poll(text, SLOW).toContain(HOSTILE.jsUrl);
    const hrefs = await page.locator('a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
    expect(hrefs.filter((h) => !h.startsWith('#') && !h.startsWith('/'))).toEqual([]);
    await page.getByRole('link', { name: HOSTILE.jsUrl }).first().click();
    await expect.poll(async () => await page.getByRole('heading', { level: 1 }).textContent(), SLOW).toBe(`agent ${HOSTILE.jsUrl}`);
    expect(await xss()).toBeUndefined();
  });

  it('incidents and revocations show explanations and reasons as text', async () => {
    await page.evaluate('location.hash = "#/incidents"');
    await expect.poll(text, SLOW).toContain(LEAKED);
    await page.evaluate('location.hash = "#/revocations"');
    await expect.poll(text, SLOW).toContain(`${HOSTILE.script} ${HOSTILE.jsUrl}`);
    expect(await text()).toContain(HOSTILE.emoji);
    // A right-to-left override in a reason cannot flip the rest of the line: it shows as its code point.
    expect(await text()).toContain('k-[U+202E]gnp.exe');
    expect(await text()).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u200B\uFEFF]/);
    expect(await xss()).toBeUndefined();
    expect(pageErrors).toEqual([]);
  });
});
