import { h } from '../dom.ts';
import type { Entry } from '../types.ts';

/** `revoked` / `throttled (10 req/min)` as a badge; colours are paired with words, never colour alone. */
export function enforcementBadge(e: Entry | null): HTMLElement {
  if (!e) return h('span', { class: 'badge ok' }, 'active');
  if (e.action === 'revoke') return h('span', { class: 'badge bad' }, 'revoked');
  return h('span', { class: 'badge warn' }, `throttled${throttleText(e) ? ` (${throttleText(e)})` : ''}`);
}

export function throttleText(e: Entry): string {
  const parts = [];
  if (e.limit?.requests_per_minute !== undefined) parts.push(`${e.limit.requests_per_minute} req/min`);
  if (e.limit?.tokens_per_minute !== undefined) parts.push(`${e.limit.tokens_per_minute} tok/min`);
  return parts.join(', ');
}

export function severityBadge(s: string): HTMLElement {
  return h('span', { class: `badge ${s === 'critical' ? 'bad' : 'warn'}` }, s);
}

export function stateBadge(s: string): HTMLElement {
  return h('span', { class: `badge ${s === 'exceeded' ? 'bad' : s === 'warning' ? 'warn' : 'ok'}` }, s);
}

/** Buttons that switch a setting (range, dimension) and show which one is on with aria-pressed. */
export function toggleGroup<T extends string>(label: string, options: readonly [T, string][], initial: T, onChange: (v: T) => void): HTMLElement {
  let value = initial;
  const buttons = options.map(([v, text]) =>
    h('button', {
      type: 'button',
      'aria-pressed': v === value ? 'true' : 'false',
      onclick: () => {
        value = v;
        for (const [i, b] of buttons.entries()) b.setAttribute('aria-pressed', options[i]![0] === v ? 'true' : 'false');
        onChange(v);
      },
    }, text),
  );
  return h('div', { class: 'toggle', role: 'group', 'aria-label': label }, buttons);
}

export const RANGES = { '24h': { ms: 86_400_000, step: '15m', text: 'last 24 hours' }, '7d': { ms: 7 * 86_400_000, step: '2h', text: 'last 7 days' } } as const;
export type RangeKey = keyof typeof RANGES;

/** `from`/`to` query text for a range ending now. */
export function rangeQuery(r: RangeKey): string {
  const to = Date.now();
  const from = to - RANGES[r].ms;
  return `from=${encodeURIComponent(new Date(from).toISOString())}&to=${encodeURIComponent(new Date(to).toISOString())}&step=${RANGES[r].step}`;
}
