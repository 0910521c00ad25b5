import './styles.css';
import { checkToken, createApi, forgetToken, storedToken, storeToken } from './api.ts';
import { h } from './dom.ts';
import type { Ctx, Page, PageFactory } from './page.ts';
import { entityPage } from './pages/entity.ts';
import { incidentsPage } from './pages/incidents.ts';
import { overviewPage } from './pages/overview.ts';
import { policiesPage } from './pages/policies.ts';
import { policyFormPage } from './pages/policy-form.ts';
import { replayPage } from './pages/replay.ts';
import { revocationsPage } from './pages/revocations.ts';

/** How often the visible page re-reads the API. */
const REFRESH_MS = 5_000;

const NAV: [string, string][] = [
  ['#/', 'Overview'],
  ['#/incidents', 'Incidents'],
  ['#/revocations', 'Revocations'],
  ['#/policies', 'Policies'],
  ['#/replay', 'Replay'],
];

const ROUTES: [RegExp, PageFactory][] = [
  [/^#?\/?$/, overviewPage],
  [/^#\/entity\/([^/]+)\/([^/]+)$/, entityPage],
  [/^#\/incidents$/, incidentsPage],
  [/^#\/revocations$/, revocationsPage],
  [/^#\/policies$/, policiesPage],
  [/^#\/policies\/new$/, policyFormPage],
  [/^#\/policies\/edit\/([^/]+)$/, policyFormPage],
  [/^#\/replay$/, replayPage],
  [/^#\/replay\/([^/]+)$/, replayPage],
];

const top = document.getElementById('top')!;
const main = document.getElementById('main')!;
const toastEl = document.getElementById('toast')!;
let current: Page | null = null;
let timer: number | undefined;
let refreshing = false;
let again = false;
let navigated = false;
const status = h('span', { class: 'status', id: 'status' });

function toast(message: string): void {
  toastEl.textContent = message;
  toastEl.classList.add('show');
  window.setTimeout(() => toastEl.classList.remove('show'), 4_000);
}

async function refresh(): Promise<void> {
  if (!current?.refresh) return;
  // One refresh at a time; a request during one (a toggle, a change) runs once more right after it.
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = true;
  try {
    do {
      again = false;
      const page: Page | null = current;
      if (!page?.refresh) return;
      try {
        await page.refresh();
        if (page === current) {
          status.textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC`;
          status.classList.remove('stale');
        }
      } catch (err) {
        status.textContent = `Update failed: ${err instanceof Error ? err.message : String(err)}`;
        status.classList.add('stale');
      }
    } while (again);
  } finally {
    refreshing = false;
  }
}

function signOut(): void {
  forgetToken();
  current?.dispose?.();
  current = null;
  window.clearInterval(timer);
  showLogin('You are signed out.');
}

function renderHeader(): void {
  const route = location.hash || '#/';
  const links = NAV.map(([href, label]) => {
    const active = href === '#/' ? route === '#/' || route === '' : route.startsWith(href);
    return h('li', null, h('a', { href, 'aria-current': active ? 'page' : null }, label));
  });
  top.replaceChildren(
    h('a', { class: 'brand', href: '#/' }, 'tollkeeper'),
    h('nav', { 'aria-label': 'Main' }, h('ul', null, links)),
    status,
    h('button', { type: 'button', class: 'link-button', onclick: signOut }, 'Sign out'),
  );
}

function route(ctx: Ctx): void {
  const hash = location.hash || '#/';
  current?.dispose?.();
  let page: Page | null = null;
  for (const [re, factory] of ROUTES) {
    const m = re.exec(hash);
    if (m) {
      page = factory(ctx, m.slice(1).map(decodeURIComponent));
      break;
    }
  }
  page ??= { title: 'Not found', el: h('section', null, h('h1', { tabindex: -1 }, 'Not found'), h('p', null, 'No page here. ', h('a', { href: '#/' }, 'Go to the overview.'))) };
  current = page;
  renderHeader();
  // Forms are not refreshed (they would lose what the user typed): no "Updated" time for them.
  if (!page.refresh) status.textContent = '';
  document.title = `${page.title} · tollkeeper`;
  main.replaceChildren(page.el);
  // After navigating, move focus to the new page's heading so keyboard and screen-reader users start at the
  // content; the first page of a visit leaves focus at the top (skip link first).
  if (navigated) page.el.querySelector('h1')?.focus({ preventScroll: true });
  navigated = true;
  void refresh();
}

function start(token: string): void {
  const ctx: Ctx = {
    api: createApi(token, () => signOut()),
    navigate: (hash) => {
      if (location.hash === hash) route(ctx);
      else location.hash = hash;
    },
    toast,
    refresh: () => void refresh(),
  };
  window.onhashchange = () => route(ctx);
  route(ctx);
  timer = window.setInterval(() => {
    if (document.visibilityState === 'visible') void refresh();
  }, REFRESH_MS);
}

// Polling pauses while the tab is hidden; coming back refreshes at once.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') void refresh();
});

function showLogin(notice?: string): void {
  window.onhashchange = null;
  top.replaceChildren(h('span', { class: 'brand' }, 'tollkeeper'));
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': 'token-hint token-error', spellcheck: 'false' });
  const error = h('p', { id: 'token-error', class: 'field-error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'login', method: 'post', novalidate: true },
    h('h1', { tabindex: -1 }, 'Sign in'),
    h('p', { class: 'notice' }, notice ?? 'Spend, quotas, incidents and revocations of this tollkeeper.'),
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'Admin token'), input,
      h('p', { id: 'token-hint', class: 'hint' }, 'Printed at start-up: the admin_token in <data>/tokens.json, or TOLLKEEPER_ADMIN_TOKEN. It is kept for this browser tab only.'),
      error),
    button,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) {
      error.textContent = 'Enter the admin token.';
      input.focus();
      return;
    }
    button.disabled = true;
    void checkToken(token).then((r) => {
      button.disabled = false;
      if (r === 'ok') {
        storeToken(token);
        navigated = true;
        start(token);
      } else {
        error.textContent = r === 'rejected' ? 'That token was not accepted. Use the admin token (not the gateway token).' : 'The server did not answer. Is tollkeeper running?';
        input.focus();
      }
    });
  });
  main.replaceChildren(form);
  document.title = 'Sign in · tollkeeper';
  input.focus();
}

const saved = storedToken();
if (saved) start(saved);
else showLogin();
