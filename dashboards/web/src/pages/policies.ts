import { h, table } from '../dom.ts';
import { DIMENSION_LABELS, formatDimension, formatPercent, formatTime } from '../format.ts';
import type { Ctx, Page } from '../page.ts';
import type { PolicyView } from '../types.ts';

/** A period as words: `day (UTC)`, `rolling 24h`, `billing cycle from 2026-01-31 (Europe/Berlin)`. */
export function periodText(period: unknown): string {
  const p = period as { calendar?: string; timezone?: string; rolling?: string; billing_cycle?: { anchor: string; timezone: string } } | undefined;
  if (!p) return 'day (UTC)';
  if (p.rolling) return `rolling ${p.rolling}`;
  if (p.billing_cycle) return `billing cycle from ${p.billing_cycle.anchor} (${p.billing_cycle.timezone})`;
  return `${p.calendar ?? 'day'} (${p.timezone ?? 'UTC'})`;
}

export function actionText(action: unknown): string {
  if (typeof action === 'string') return action;
  const t = (action as { throttle?: { requests_per_minute?: number; tokens_per_minute?: number } } | undefined)?.throttle;
  if (!t) return 'alert';
  return `throttle to ${[t.requests_per_minute !== undefined ? `${t.requests_per_minute} req/min` : '', t.tokens_per_minute !== undefined ? `${t.tokens_per_minute} tok/min` : ''].filter(Boolean).join(', ')}`;
}

/** Quota policies from the config file (read-only here) and the admin API (editable, versioned). */
export function policiesPage(ctx: Ctx): Page {
  const list = h('div', { id: 'policy-list' });

  async function refresh(): Promise<void> {
    const r = await ctx.api.get<{ policies: PolicyView[] }>('/api/policies');
    list.replaceChildren(
      table('Policies', ['Name', 'Scope', 'Match', 'Period', 'Limits', 'Thresholds', 'Action', 'Source', 'Change or try'],
        r.policies.map((v) => {
          const p = v.policy;
          return [
            h('strong', null, v.name),
            p.scope,
            Object.entries(p.match ?? {}).map(([k, x]) => `${k}=${x}`).join(', ') || '—',
            periodText(p.period),
            h('ul', { class: 'dims' }, Object.entries(p.limits).map(([d, n]) => h('li', null, `${DIMENSION_LABELS[d] ?? d}: ${formatDimension(d, n)}`))),
            (p.thresholds ?? []).map(formatPercent).join(', '),
            actionText(p.action),
            v.source === 'config' ? 'config file' : `API v${v.version}, ${formatTime(v.updated_at)}`,
            h('span', { class: 'row-actions' },
              v.source === 'api' ? h('a', { href: `#/policies/edit/${encodeURIComponent(v.name)}`, class: 'button small', 'aria-label': `Edit ${v.name}` }, 'Edit') : h('span', { class: 'sub' }, 'in the config file'),
              h('a', { href: `#/replay/${encodeURIComponent(v.name)}`, class: 'button small', 'aria-label': `Replay ${v.name}` }, 'Replay')),
          ];
        }),
        'No policies yet.', { hideCaption: true }),
    );
  }

  const el = h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, 'Policies'), h('a', { href: '#/policies/new', class: 'button primary' }, 'New policy')),
    h('section', { class: 'panel', 'aria-label': 'Policy list' }, list));
  return { title: 'Policies', el, refresh };
}
