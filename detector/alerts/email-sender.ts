import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { spendChartPng } from '../../core/alerts/chart.ts';
import type { MailPlan } from '../../core/alerts/email-plan.ts';
import { renderMail } from '../../core/alerts/email-render.ts';
import { markInvisible } from '../../core/alerts/escape.ts';
import type { Delivery } from '../../store/outbox-repo.ts';
import type { AttemptOutcome } from './outbox.ts';

export interface EmailSenderOptions {
  smtpUrl: string;
  from: string;
  apiUrl: () => string;
  dashboardUrl?: string;
  /** Hours of spend in the chart. */
  chartHours: number;
  timeoutMs: number;
  /** Spend per bucket of one entity (null when unknown: the mail goes out without a chart). */
  spend: (kind: string, id: string, from: number, to: number, bucketMs: number) => Promise<number[]>;
  now: () => number;
}

const BUCKET_MS = 5 * 60_000;
const CID = 'spend-chart@tollkeeper';

function money(v: number): string {
  return `$${v >= 100 ? v.toFixed(0) : v.toFixed(2)}`;
}

/** The stored mail: the plan, and the recipients refused for good by an earlier attempt (named when it is delivered). */
type StoredMail = MailPlan & { refused?: string[] };

interface Refusal {
  recipient?: string;
  responseCode?: number;
  response?: string;
}

const refusalText = (r: Refusal): string => `${r.recipient ?? '?'} (${(r.response ?? String(r.responseCode ?? '')).replace(/\s+/g, ' ').trim()})`;

/**
 * Some recipients refused, the others accepted (nodemailer then resolves): the mail went out, but not to them. A
 * recipient deferred with a 4xx is retried alone (same Message-ID); one refused with a 5xx is named in `last_error`.
 */
function partly(plan: StoredMail, accepted: readonly string[], rejected: readonly Refusal[]): AttemptOutcome {
  const deferred = rejected.filter((r) => !(typeof r.responseCode === 'number' && r.responseCode >= 500) && r.recipient);
  const refused = [...(plan.refused ?? []), ...rejected.filter((r) => !deferred.includes(r)).map(refusalText)];
  const said = [refused.length ? `not accepted for ${refused.join(', ')}` : '', deferred.length ? `deferred for ${deferred.map(refusalText).join(', ')}` : '', accepted.length ? `delivered to ${accepted.join(', ')}` : ''];
  const text = said.filter(Boolean).join('; ');
  if (deferred.length === 0) return { ok: true, note: text };
  const to = deferred.map((r) => r.recipient!);
  return { ok: false, retriable: true, error: text, rest: { payload: JSON.stringify({ ...plan, to, refused } satisfies StoredMail) } };
}

/** nodemailer over SMTP: one mail per delivery, with the spend chart of its first entity inline. */
export function createEmailSender(o: EmailSenderOptions) {
  const options: SMTPTransport.Options = { url: o.smtpUrl, connectionTimeout: o.timeoutMs, greetingTimeout: o.timeoutMs, socketTimeout: o.timeoutMs };
  const transport = nodemailer.createTransport(options);

  async function chart(plan: MailPlan): Promise<{ png: Buffer; caption: string } | undefined> {
    const first = plan.items[0]?.events[0];
    if (!first) return undefined;
    const to = o.now();
    const from = Math.floor((to - o.chartHours * 3_600_000) / BUCKET_MS) * BUCKET_MS;
    try {
      const values = await o.spend(first.data.entity.kind, first.data.entity.id, from, to, BUCKET_MS);
      const decided = Date.parse(first.timestamp);
      const highlightFrom = Number.isNaN(decided) ? undefined : Math.max(0, Math.floor((decided - 5 * 60_000 - from) / BUCKET_MS));
      const peak = Math.max(0, ...values);
      const total = values.reduce((a, b) => a + b, 0);
      const caption = `Spend of ${first.data.entity.kind} ${markInvisible(first.data.entity.id)} per 5 min over the last ${o.chartHours} h: total ${money(total)}, peak ${money(peak)} per 5 min (red: from 5 min before the alert)`;
      return { png: spendChartPng(values, highlightFrom !== undefined ? { highlightFrom } : {}), caption };
    } catch {
      // A mail without its chart beats no mail: the store may be the thing that is down.
      return undefined;
    }
  }

  return {
    async send(d: Delivery): Promise<AttemptOutcome> {
      const plan = JSON.parse(d.payload) as StoredMail;
      const c = await chart(plan);
      const mail = renderMail(plan, { apiUrl: o.apiUrl(), ...(o.dashboardUrl ? { dashboardUrl: o.dashboardUrl } : {}), ...(c ? { chartCid: CID, chartCaption: c.caption } : {}) });
      try {
        const info = await transport.sendMail({
          from: o.from,
          to: plan.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          // Stable across retries, so a client that saw it once can tell a resend apart.
          messageId: `<${d.id}@tollkeeper>`,
          headers: { 'X-Tollkeeper-Delivery': d.id },
          ...(c ? { attachments: [{ filename: 'spend.png', content: c.png, contentType: 'image/png', cid: CID, contentDisposition: 'inline' as const }] } : {}),
        });
        const rejected = (info.rejectedErrors ?? []) as Refusal[];
        if (rejected.length > 0) return partly(plan, info.accepted.map(String), rejected);
        return plan.refused?.length ? { ok: true, note: `not accepted for ${plan.refused.join(', ')}` } : { ok: true };
      } catch (err) {
        const e = err as { message?: string; responseCode?: number; code?: string };
        // A recipient the server refuses for good (5xx on the envelope) will not improve with retries.
        const permanent = e.code === 'EENVELOPE' && typeof e.responseCode === 'number' && e.responseCode >= 500;
        return { ok: false, retriable: !permanent, error: `${e.code ? e.code + ': ' : ''}${e.message ?? String(err)}` };
      }
    },
    close(): void {
      transport.close();
    },
  };
}
