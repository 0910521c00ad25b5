import { entityLink, field, h, table } from '../dom.ts';
import { formatCount, formatTime, formatUsd } from '../format.ts';
import type { Ctx, Page } from '../page.ts';
import type { Incident } from '../types.ts';
import { severityBadge } from './common.ts';

/** `$4.10 (6.8× usual hour)` once enforced, `$0.40 so far` while it only warns, `—` when not recorded. */
function spendCell(i: Incident): string {
  if (i.spend_usd === null) return '—';
  const times = i.usual_hourly_usd ? ` (${(i.spend_usd / i.usual_hourly_usd).toFixed(1)}× usual hour)` : '';
  return `${formatUsd(i.spend_usd)}${i.enforced_at ? times : ' so far'}`;
}

/** Denial-of-wallet incidents, newest first, filtered by status. */
export function incidentsPage(ctx: Ctx): Page {
  const status = h('select', { name: 'status' }, h('option', { value: 'open' }, 'Open'), h('option', { value: 'resolved' }, 'Resolved'), h('option', { value: '' }, 'All'));
  status.addEventListener('change', () => ctx.refresh());
  const filter = field('Status', status);
  const list = h('div', { id: 'incident-list' });

  async function refresh(): Promise<void> {
    const q = status.value ? `status=${status.value}&` : '';
    const r = await ctx.api.get<{ incidents: Incident[] }>(`/api/incidents?${q}limit=200`);
    list.replaceChildren(
      table('Incidents', ['Entity', 'Tenant', 'Pattern', 'Severity', 'Status', 'Detected', 'Resolved', 'Observed vs expected', 'Spend before enforcement', 'Action', 'Explanation'],
        r.incidents.map((i) => [
          entityLink(i.entity.kind, i.entity.id, `${i.entity.kind} ${i.entity.id}`),
          i.tenant ?? '—',
          i.pattern.replace('_', ' '),
          severityBadge(i.severity),
          i.status,
          formatTime(i.detected_at),
          formatTime(i.resolved_at),
          i.metric === 'cost_usd' ? `${formatUsd(i.observed)} vs ${formatUsd(i.expected)}` : `${formatCount(Math.round(i.observed))} vs ${formatCount(Math.round(i.expected))}`,
          spendCell(i),
          i.action + (i.shadow ? ' (shadow: not taken)' : ''),
          i.explanation,
        ]),
        'No incidents.', { hideCaption: true }),
    );
  }

  const el = h('section', { class: 'page' }, h('h1', { tabindex: -1 }, 'Incidents'), h('div', { class: 'filters' }, filter.row), h('section', { class: 'panel', 'aria-label': 'Incident list' }, list));
  return { title: 'Incidents', el, refresh };
}
