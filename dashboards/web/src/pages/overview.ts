import { h, entityLink, table } from '../dom.ts';
import { formatCount, formatRatio, formatTime, formatUsd } from '../format.ts';
import { timeChart } from '../chart.ts';
import type { Ctx, Page } from '../page.ts';
import type { Incident, Revocations, Series, Summary, Top, Unpriced } from '../types.ts';
import { enforcementBadge, RANGES, rangeQuery, severityBadge, toggleGroup, type RangeKey } from './common.ts';

const TOP_KINDS: [string, string][] = [
  ['api_key', 'Top API keys'],
  ['tenant', 'Top tenants'],
  ['agent', 'Top agents'],
];

function stat(id: string, label: string, value: string, note: Node | string | null = null, tone = ''): HTMLElement {
  return h('div', { class: `stat ${tone}`, id }, h('p', { class: 'stat-label' }, label), h('p', { class: 'stat-value', 'data-testid': `${id}-value` }, value), note ? h('p', { class: 'stat-note' }, note) : null);
}

/** What is happening now: spend against usual, spend over time, top spenders, incidents, enforcement, unpriced usage. */
export function overviewPage(ctx: Ctx): Page {
  let range: RangeKey = '24h';
  const stats = h('section', { class: 'stats', 'aria-label': 'Key figures' });
  const chart = timeChart('Spend over time');
  const chartTitle = h('h2', { id: 'spend-title' }, `Spend, ${RANGES[range].text}`);
  const tops = h('div', { class: 'grid3' });
  const incidents = h('section', { class: 'panel', 'aria-labelledby': 'open-incidents-title' });
  const revoked = h('section', { class: 'panel', 'aria-labelledby': 'listed-title' });
  const unpriced = h('section', { class: 'panel', 'aria-labelledby': 'unpriced-title' });

  async function refresh(): Promise<void> {
    const topQ = `from=${encodeURIComponent(new Date(Date.now() - 86_400_000).toISOString())}`;
    const [summary, series, open, list, unp, ...topLists] = await Promise.all([
      ctx.api.get<Summary>('/api/usage/summary'),
      ctx.api.get<Series>(`/api/usage/series?${rangeQuery(range)}`),
      ctx.api.get<{ incidents: Incident[] }>('/api/incidents?status=open&limit=50'),
      ctx.api.get<Revocations>('/v1/revocations'),
      ctx.api.get<Unpriced>('/api/usage/unpriced'),
      ...TOP_KINDS.map(([k]) => ctx.api.get<Top>(`/api/usage/top?kind=${k}&limit=5&${topQ}`)),
    ]);

    const usual = summary.usual_hour;
    const ratio = summary.cost_ratio;
    const high = ratio !== null && ratio >= 3;
    stats.replaceChildren(
      stat('spend-now', 'Spend, last hour', formatUsd(summary.last_hour.cost_usd),
        usual ? `usual ${formatUsd(usual.cost_usd)} (same hour, ${usual.days}-day average)${ratio !== null ? ` · ${formatRatio(ratio)}` : ''}` : 'no history yet to compare with', high ? 'alarm' : ''),
      stat('spend-24h', 'Spend, last 24 hours', formatUsd(summary.last_24h.cost_usd), `${formatCount(summary.last_24h.requests)} requests · ${formatCount(summary.last_24h.tokens)} tokens`),
      stat('open-incidents', 'Open incidents', formatCount(open.incidents.length), `${open.incidents.filter((i) => i.severity === 'critical').length} critical`, open.incidents.length ? 'alarm' : ''),
      stat('listed', 'Revoked or throttled', formatCount(list.entries.length), `${list.entries.filter((e) => e.action === 'revoke').length} revoked · ${list.entries.filter((e) => e.action === 'throttle').length} throttled`),
      stat('unpriced', 'Unpriced requests (30 days)', formatCount(unp.total_requests), unp.total_requests ? 'counted at $0 until priced' : 'every request priced', unp.total_requests ? 'warn' : ''),
    );

    const total = series.points.reduce((a, p) => a + p.cost_usd, 0);
    chart.update(series.points.map((p) => Date.parse(p.t) / 1000), series.points.map((p) => p.cost_usd), 'Spend (USD)',
      `${formatUsd(total)} in total over the ${RANGES[range].text}, per ${series.step_seconds / 60} minutes`, formatUsd);

    tops.replaceChildren(
      ...TOP_KINDS.map(([kind, title], i) => {
        const t = topLists[i]!;
        return h('section', { class: 'panel', 'aria-labelledby': `top-${kind}` }, h('h2', { id: `top-${kind}` }, title, h('span', { class: 'sub' }, ' · 24 h')),
          table(title, ['Name', 'Spend', 'Requests'], t.entities.map((e) => [entityLink(kind, e.id), h('span', { class: 'num' }, formatUsd(e.cost_usd)), h('span', { class: 'num' }, formatCount(e.requests))]), 'No usage in the last 24 hours.', { hideCaption: true }));
      }),
    );

    incidents.replaceChildren(
      h('h2', { id: 'open-incidents-title' }, 'Open incidents'),
      table('Open incidents', ['Entity', 'Pattern', 'Severity', 'Detected', 'What happened'],
        open.incidents.map((i) => [entityLink(i.entity.kind, i.entity.id, `${i.entity.kind} ${i.entity.id}`), i.pattern.replace('_', ' '), severityBadge(i.severity), formatTime(i.detected_at), i.explanation]),
        'No open incidents.', { hideCaption: true }),
    );
    revoked.replaceChildren(
      h('h2', { id: 'listed-title' }, 'Revoked and throttled now'),
      table('Revoked and throttled now', ['Entity', 'State', 'Source', 'Reason'],
        list.entries.map((e) => [entityLink(e.kind, e.id, `${e.kind} ${e.id}`), enforcementBadge(e), e.source, e.reason]),
        'Nothing is revoked or throttled.', { hideCaption: true }),
    );
    unpriced.replaceChildren(
      h('h2', { id: 'unpriced-title' }, 'Unpriced usage (30 days)'),
      table('Unpriced usage', ['Provider', 'Model', 'Requests', 'Last seen'],
        unp.models.map((m) => [m.provider || '—', m.model || '—', h('span', { class: 'num' }, formatCount(Number(m.requests))), formatTime(m.last_seen)]),
        'Every request was priced.', { hideCaption: true }),
    );
  }

  const el = h(
    'section',
    { class: 'page overview' },
    h('h1', { tabindex: -1 }, 'Overview'),
    stats,
    h('section', { class: 'panel', 'aria-labelledby': 'spend-title' },
      h('div', { class: 'panel-head' }, chartTitle, toggleGroup('Time range', [['24h', '24 hours'], ['7d', '7 days']], range, (v) => {
        range = v;
        chartTitle.textContent = `Spend, ${RANGES[range].text}`;
        ctx.refresh();
      })),
      chart.el),
    tops,
    h('div', { class: 'grid2' }, incidents, revoked),
    unpriced,
  );
  return { title: 'Overview', el, refresh, dispose: () => chart.dispose() };
}
