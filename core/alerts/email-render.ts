import type { MailItem, MailPlan } from './email-plan.ts';
import { amount, escapeHtml, markInvisible, ofLimit } from './escape.ts';
import { actionText, entityPageUrl, isEnforcement, oneLine, ratioText, restoreCall, shownEvent, singleSubject, summaryOf } from './summary.ts';
import type { AlertEvent, What } from './types.ts';

export interface RenderContext {
  /** Base URL of the API, for the restore call. */
  apiUrl: string;
  /** Link to the dashboard, when one is configured. */
  dashboardUrl?: string;
  /** Content id of the inline spend chart, when one is attached. */
  chartCid?: string;
  /** Alt text and caption of the chart ("spend of api_key k-42, last 6 h, peak $12.40 per 5 min"). */
  chartCaption?: string;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** Most items listed in one digest body; the rest are counted. */
export const DIGEST_LIST_MAX = 100;

interface Row {
  label: string;
  value: string;
  /** Shown as code (the restore call). */
  code?: boolean;
  /** Shown as a link to itself. */
  link?: boolean;
}

function comparison(e: AlertEvent): Row | undefined {
  const { observed, expected } = e.data;
  if (observed === undefined || expected === undefined) return undefined;
  if (e.data.source === 'quota') {
    const pct = expected > 0 ? ` (${Math.round((observed / expected) * 100)}% of the limit)` : '';
    return { label: 'Used vs limit', value: `${ofLimit(e.data.dimension, observed, expected)}${pct}` };
  }
  const ratio = ratioText(observed, expected);
  return { label: 'Observed vs expected', value: `${amount(e.data.metric, observed)} vs ${amount(e.data.metric, expected)}${ratio ? ` (${ratio} usual)` : ''}` };
}

/** `raw` is the item as stored: its restore call carries the exact id, the other rows show `shownEvent`s. */
function itemRows(raw: MailItem, ctx: RenderContext): Row[] {
  const item = shownItem(raw);
  const e = item.events[0]!;
  const rows: Row[] = [{ label: 'Entity', value: `${e.data.entity.kind} ${e.data.entity.id}` }];
  const tenant = item.events.find((x) => x.data.tenant)?.data.tenant;
  if (tenant) rows.push({ label: 'Tenant', value: tenant });
  const cmp = item.events.map(comparison).find((r) => r !== undefined);
  if (cmp) rows.push(cmp);
  const policy = item.events.find((x) => x.data.policy)?.data.policy;
  if (policy) rows.push({ label: 'Policy', value: policy });
  const inc = item.events.find((x) => x.data.incident_id);
  if (inc) rows.push({ label: 'Incident', value: `${inc.data.incident_id!}${inc.data.pattern ? ` (${inc.data.pattern}${inc.data.severity ? `, ${inc.data.severity}` : ''})` : ''}` });
  rows.push({ label: 'Why', value: e.data.reason });
  rows.push({ label: 'Action taken', value: actionText(e) });
  rows.push({ label: 'Entity page', value: pageOf(raw, ctx), link: true });
  const enforced = raw.events.find(isEnforcement);
  if (enforced) rows.push({ label: 'To restore', value: restoreCall(enforced, ctx.apiUrl), code: true });
  return rows;
}

const pageOf = (item: MailItem, ctx: RenderContext): string => entityPageUrl(ctx.apiUrl, item.events[0]!.data.entity.kind, item.events[0]!.data.entity.id);

const shownItem = (item: MailItem): MailItem => ({ ...item, events: item.events.map(shownEvent) });

const itemLine = (item: MailItem): string => {
  const e = shownEvent(item.events[0]!);
  return oneLine(`${item.what}: ${e.data.entity.kind} ${e.data.entity.id} — ${summaryOf(e)}${e.data.tenant ? ` (tenant ${e.data.tenant})` : ''}`);
};

function counts(items: readonly MailItem[]): string {
  const by = new Map<What, number>();
  for (const i of items) by.set(i.what, (by.get(i.what) ?? 0) + 1);
  return [...by].map(([w, n]) => `${n} ${w}`).join(', ');
}

/** "[tollkeeper] Digest (500 events): 500 Revoked — api_key k-1, api_key k-2, api_key k-3 and 497 more" */
export function digestSubject(items: readonly MailItem[]): string {
  const names = items.slice(0, 3).map((i) => `${i.events[0]!.data.entity.kind} ${markInvisible(i.events[0]!.data.entity.id)}`);
  const more = items.length > 3 ? ` and ${items.length - 3} more` : '';
  return oneLine(`[tollkeeper] Digest (${items.length} events): ${counts(items)} — ${names.join(', ')}${more}`);
}

function textBody(plan: MailPlan, ctx: RenderContext, subject: string): string {
  const out: string[] = [subject.replace(/^\[tollkeeper\] /, ''), ''];
  const detailed = plan.items.length === 1 ? plan.items : plan.items.slice(0, DIGEST_LIST_MAX);
  if (plan.items.length > 1) {
    for (const item of detailed) out.push(`- ${itemLine(item)}`);
    if (plan.items.length > detailed.length) out.push(`- … and ${plan.items.length - detailed.length} more (GET /api/alerts/deliveries lists them all)`);
    out.push('');
  }
  const first = plan.items[0]!;
  const rows = itemRows(first, ctx);
  if (plan.items.length > 1) out.push(`First of them in detail:`);
  const width = Math.max(...rows.map((r) => r.label.length)) + 2;
  for (const r of rows) out.push(`${(r.label + ':').padEnd(width)}${oneLine(r.value)}`);
  if (first.events.length > 1) {
    out.push('', 'Events:');
    for (const e of first.events) out.push(`- ${e.timestamp} ${e.type} — ${oneLine(markInvisible(e.data.reason))}`);
  }
  if (ctx.chartCaption) out.push('', `Chart (HTML part): ${ctx.chartCaption}`);
  if (ctx.dashboardUrl) out.push('', `Dashboard: ${ctx.dashboardUrl}`);
  return out.join('\n') + '\n';
}

function cellHtml(r: Row): string {
  if (r.code) return `<code style="font:12px monospace;background:#f4f4f4;padding:2px 4px;word-break:break-all">${escapeHtml(r.value)}</code>`;
  return r.link ? `<a href="${escapeHtml(r.value)}" style="word-break:break-all">${escapeHtml(r.value)}</a>` : escapeHtml(r.value);
}

function htmlTable(rows: readonly Row[]): string {
  const cell = 'padding:4px 12px 4px 0;vertical-align:top;text-align:left';
  return `<table role="presentation" style="border-collapse:collapse;font:14px sans-serif">${rows
    .map((r) => `<tr><th style="${cell};color:#555;font-weight:normal;white-space:nowrap">${escapeHtml(r.label)}</th><td style="${cell}">${cellHtml(r)}</td></tr>`)
    .join('')}</table>`;
}

function htmlBody(plan: MailPlan, ctx: RenderContext, subject: string): string {
  const parts: string[] = [`<h2 style="font:bold 16px sans-serif">${escapeHtml(subject.replace(/^\[tollkeeper\] /, ''))}</h2>`];
  if (plan.items.length > 1) {
    const listed = plan.items.slice(0, DIGEST_LIST_MAX);
    parts.push(`<ul style="font:14px sans-serif">${listed.map((i) => `<li><a href="${escapeHtml(pageOf(i, ctx))}">${escapeHtml(itemLine(i))}</a></li>`).join('')}</ul>`);
    if (plan.items.length > listed.length) parts.push(`<p style="font:14px sans-serif">… and ${plan.items.length - listed.length} more.</p>`);
    parts.push('<p style="font:14px sans-serif">First of them in detail:</p>');
  }
  parts.push(htmlTable(itemRows(plan.items[0]!, ctx)));
  if (ctx.chartCid) {
    const alt = escapeHtml(ctx.chartCaption ?? 'spend chart');
    parts.push(`<p><img src="cid:${escapeHtml(ctx.chartCid)}" width="600" height="160" alt="${alt}" style="display:block;border:1px solid #ddd"><br><span style="font:12px sans-serif;color:#555">${alt}</span></p>`);
  }
  if (ctx.dashboardUrl) parts.push(`<p style="font:14px sans-serif"><a href="${escapeHtml(ctx.dashboardUrl)}">Open the dashboard</a></p>`);
  return `<!doctype html><html><body>${parts.join('\n')}</body></html>`;
}

/** Subject, plain text and HTML of one planned mail; every user-controlled string is escaped in the HTML. */
export function renderMail(plan: MailPlan, ctx: RenderContext): RenderedMail {
  const subject = plan.items.length === 1 ? singleSubject(shownEvent(plan.items[0]!.events[0]!)) : digestSubject(plan.items);
  return { subject, text: textBody(plan, ctx, subject), html: htmlBody(plan, ctx, subject) };
}

