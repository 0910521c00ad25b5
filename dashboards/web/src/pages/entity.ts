import { ApiError } from '../api.ts';
import { timeChart } from '../chart.ts';
import { field, h, table } from '../dom.ts';
import { DIMENSION_LABELS, formatCount, formatDimension, formatPercent, formatTime, formatUsd } from '../format.ts';
import { errorText, type Ctx, type Page } from '../page.ts';
import type { EnforcementView, Incident, QuotaPolicyStatus, Series, Totals } from '../types.ts';
import { enforcementBadge, RANGES, rangeQuery, severityBadge, stateBadge, throttleText, toggleGroup, type RangeKey } from './common.ts';

const CHART_DIMENSIONS = ['cost_usd', 'tokens', 'input_tokens', 'output_tokens', 'requests', 'tool_calls'] as const;
type ChartDimension = (typeof CHART_DIMENSIONS)[number];

function utilizationBar(u: number): HTMLElement {
  const pct = Math.min(100, Math.max(0, u * 100));
  const tone = u >= 1 ? 'bad' : u >= 0.8 ? 'warn' : 'ok';
  return h('span', { class: 'bar-wrap' },
    h('span', { class: `bar ${tone}`, role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(pct), 'aria-label': `${formatPercent(u)} used` }, h('span', { class: 'bar-fill', style: `width:${pct.toFixed(1)}%` })),
    h('span', { class: 'num' }, formatPercent(u)));
}

/** One entity: usage over time, quotas, incidents, enforcement history; revoke and restore. */
export function entityPage(ctx: Ctx, params: readonly string[]): Page {
  const kind = params[0]!;
  const id = params[1]!;
  let range: RangeKey = '24h';
  let dimension: ChartDimension = 'cost_usd';
  const badge = h('span', { class: 'state', id: 'entity-state' });
  const actions = h('div', { class: 'actions' });
  const chart = timeChart(`Usage of ${kind} ${id}`);
  const chartTitle = h('h2', { id: 'usage-title' }, `Usage, ${RANGES[range].text}`);
  const quotas = h('section', { class: 'panel', 'aria-labelledby': 'quotas-title' });
  const incidents = h('section', { class: 'panel', 'aria-labelledby': 'incidents-title' });
  const history = h('section', { class: 'panel', 'aria-labelledby': 'history-title' });

  const reason = field('Reason for a manual revoke', h('input', { type: 'text', name: 'reason', maxlength: 1000, placeholder: 'e.g. key leaked in a public repo' }), 'Shown to gateways and in the history.');
  const revokeButton = h('button', { type: 'submit', class: 'danger' }, 'Revoke');
  const restoreButton = h('button', { type: 'button', class: 'primary' }, 'Restore');
  const revokeForm = h('form', { class: 'inline-form', 'aria-label': `Revoke ${kind} ${id}` }, reason.row, revokeButton);

  async function enforce(action: 'revoke' | 'restore', why: string): Promise<void> {
    reason.error.textContent = '';
    try {
      await ctx.api.send('POST', '/v1/enforcement', { action, kind, id, reason: why });
      ctx.toast(action === 'revoke' ? `Revoked ${kind} ${id}.` : `Restored ${kind} ${id}.`);
      ctx.refresh();
    } catch (err) {
      reason.error.textContent = err instanceof ApiError && err.body?.message ? err.body.message : errorText(err);
    }
  }
  revokeForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const control = reason.control;
    void enforce('revoke', control.value.trim() || 'revoked from the web UI').then(() => (control.value = ''));
  });
  restoreButton.addEventListener('click', () => void enforce('restore', 'restored from the web UI'));

  const dimensionSelect = h('select', { id: 'dimension', name: 'dimension' }, CHART_DIMENSIONS.map((d) => h('option', { value: d }, DIMENSION_LABELS[d])));
  dimensionSelect.addEventListener('change', () => {
    dimension = dimensionSelect.value as ChartDimension;
    ctx.refresh();
  });

  async function refresh(): Promise<void> {
    const q = `kind=${encodeURIComponent(kind)}&entity=${encodeURIComponent(id)}`;
    const [series, status, inc, enf] = await Promise.all([
      ctx.api.get<Series>(`/api/usage/series?${q}&${rangeQuery(range)}`),
      ctx.api.get<{ policies: QuotaPolicyStatus[] }>(`/api/quotas/status?scope=${encodeURIComponent(kind)}&id=${encodeURIComponent(id)}`),
      ctx.api.get<{ incidents: Incident[] }>(`/api/incidents?${q}&limit=50`),
      ctx.api.get<EnforcementView>(`/v1/enforcement/${encodeURIComponent(kind)}/${encodeURIComponent(id)}`),
    ]);
    const cur = enf.current;
    badge.replaceChildren(enforcementBadge(cur));
    actions.replaceChildren(
      h('div', { class: 'current' },
        h('p', null, cur
          ? `${cur.action === 'revoke' ? 'Revoked' : 'Throttled'} by ${cur.source === 'manual' ? 'an operator' : cur.source === 'quota' ? `quota ${cur.ref ?? ''}` : 'anomaly detection'}. Gateways ${cur.action === 'revoke' ? 'refuse' : 'slow down'} its requests${cur.expires_at ? ` until ${formatTime(cur.expires_at)}` : ' until it is restored'}.`
          : 'Not on the revocation list: gateways let its requests through.'),
        cur ? h('p', { class: 'sub' }, `Why: ${cur.reason}`) : null,
        cur ? h('p', { class: 'sub' }, 'Restoring holds for the rest of the quota period or the life of the incident, unless a worse finding comes.') : null,
        cur ? restoreButton : null),
      revokeForm);

    const fmt = (n: number) => formatDimension(dimension, n);
    const values = series.points.map((p) => p[dimension as keyof Totals]);
    const total = values.reduce((a, v) => a + v, 0);
    chart.update(series.points.map((p) => Date.parse(p.t) / 1000), values, DIMENSION_LABELS[dimension]!,
      `${fmt(total)} ${DIMENSION_LABELS[dimension]!.toLowerCase()} over the ${RANGES[range].text}`, fmt);

    quotas.replaceChildren(
      h('h2', { id: 'quotas-title' }, 'Quotas'),
      table('Quotas', ['Policy', 'Period (UTC)', 'State', 'Used of limit', 'Utilization', 'Projected exhaustion'],
        status.policies.map((p) => [
          p.policy,
          `${formatTime(p.period.start)} – ${formatTime(p.period.end)}`,
          stateBadge(p.state),
          h('ul', { class: 'dims' }, Object.entries(p.dimensions).map(([d, v]) => h('li', null, `${DIMENSION_LABELS[d] ?? d}: ${formatDimension(d, v.used)} of ${formatDimension(d, v.limit)}`))),
          utilizationBar(p.utilization),
          p.projected_exhaustion_at ? formatTime(p.projected_exhaustion_at) : p.state === 'exceeded' ? 'exhausted' : 'not at the current rate',
        ]),
        `No policy applies to ${kind} entities.`, { hideCaption: true }),
    );
    incidents.replaceChildren(
      h('h2', { id: 'incidents-title' }, 'Incidents'),
      table('Incidents', ['Detected', 'Pattern', 'Severity', 'Status', 'Observed vs expected', 'Explanation'],
        inc.incidents.map((i) => [formatTime(i.detected_at), i.pattern.replace('_', ' '), severityBadge(i.severity), i.status + (i.shadow ? ' (shadow)' : ''),
          i.metric === 'cost_usd' ? `${formatUsd(i.observed)} vs ${formatUsd(i.expected)}` : `${formatCount(Math.round(i.observed))} vs ${formatCount(Math.round(i.expected))}`, i.explanation]),
        'No incidents for this entity.', { hideCaption: true }),
    );
    history.replaceChildren(
      h('h2', { id: 'history-title' }, 'Enforcement history'),
      table('Enforcement history, newest first', ['When', 'Action', 'Source', 'Reason', 'By'],
        enf.history.map((x) => [formatTime(x.at), x.action, x.source, x.reason, x.actor]),
        'Never revoked, throttled or restored.', { hideCaption: true }),
    );
    if (cur?.action === 'throttle' && throttleText(cur)) badge.setAttribute('title', throttleText(cur));
  }

  const el = h(
    'section',
    { class: 'page entity' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Overview'), ' › ', kind),
    h('div', { class: 'entity-head' }, h('h1', { tabindex: -1 }, h('span', { class: 'kind' }, kind), ' ', id), badge),
    h('section', { class: 'panel', 'aria-label': 'Enforcement actions' }, actions),
    h('section', { class: 'panel', 'aria-labelledby': 'usage-title' },
      h('div', { class: 'panel-head' }, chartTitle,
        h('div', { class: 'controls' },
          h('label', { for: 'dimension' }, 'Show'), dimensionSelect,
          toggleGroup('Time range', [['24h', '24 hours'], ['7d', '7 days']], range, (v) => {
            range = v;
            chartTitle.textContent = `Usage, ${RANGES[range].text}`;
            ctx.refresh();
          }))),
      chart.el),
    quotas,
    incidents,
    history,
  );
  return { title: `${kind} ${id}`, el, refresh, dispose: () => chart.dispose() };
}
