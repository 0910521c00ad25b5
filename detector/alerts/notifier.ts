import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { RetryRules } from '../../core/alerts/backoff.ts';
import { planEmails, type EmailRoute, type MailPlan } from '../../core/alerts/email-plan.ts';
import { slackMessage } from '../../core/alerts/slack.ts';
import { entityKey, type AlertEvent } from '../../core/alerts/types.ts';
import type { Delivery, DeliveryChannel, DeliveryFilter, OutboxRepo } from '../../store/outbox-repo.ts';

export type { Delivery, DeliveryFilter };
import { createEmailSender } from './email-sender.ts';
import { createOutbox, type AttemptOutcome } from './outbox.ts';
import { postWebhook, type Subscriber } from './webhook-sender.ts';

export interface EmailSettings {
  smtpUrl: string;
  from: string;
  to: readonly string[];
  routes: readonly EmailRoute[];
  cooldownMs: number;
  dashboardUrl?: string;
  chartHours: number;
  timeoutMs: number;
}

export interface AlertSettings {
  webhooks: readonly Subscriber[];
  email?: EmailSettings;
  retry: RetryRules;
  /** Base URL of the API as operators reach it (for the restore call in messages). */
  apiUrl: () => string;
}

export interface NotifierDeps {
  settings: AlertSettings;
  repo: OutboxRepo;
  spend: (kind: string, id: string, from: number, to: number, bucketMs: number) => Promise<number[]>;
  logger: Logger;
  now: () => number;
  random?: () => number;
}

/** `msg_` + a digest of what is sent: the same decision published twice is the same delivery. */
export function deliveryId(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\u0000');
  return 'msg_' + h.digest('base64url').slice(0, 27);
}

function entitiesOf(events: readonly AlertEvent[]): { entities: string[]; entityIds: string[] } {
  const entities = [...new Set(events.map(entityKey))];
  return { entities, entityIds: [...new Set(events.map((e) => e.data.entity.id))] };
}

/**
 * Turns published events into deliveries in the outbox: one per webhook subscriber and event (its filter
 * applied), and the planned mails (per entity, cooled down, one digest per recipient list). Never throws into the
 * detector and never makes it wait: storing and sending run after `onEvents` returns.
 */
export function createNotifier(d: NotifierDeps) {
  const s = d.settings;
  const subs = new Map(s.webhooks.map((w) => [w.id, w]));
  const disabled = new Map<string, string>();
  const lastMailed = new Map<string, number>();
  let chain: Promise<unknown> = Promise.resolve();
  const email = s.email ? createEmailSender({ ...s.email, apiUrl: s.apiUrl, spend: d.spend, now: d.now }) : undefined;
  let subVersion = 0;

  async function sendWebhook(del: Delivery): Promise<AttemptOutcome> {
    const sub = subs.get(del.target);
    if (!sub) return { ok: false, retriable: false, error: `subscriber ${del.target} is no longer configured` };
    const off = disabled.get(sub.id);
    if (off !== undefined) return { ok: false, retriable: false, error: `subscriber disabled: ${off}` };
    return postWebhook(del, sub, d.now());
  }

  const outbox = createOutbox({
    repo: d.repo,
    retry: s.retry,
    logger: d.logger,
    now: d.now,
    ...(d.random ? { random: d.random } : {}),
    senders: {
      webhook: sendWebhook,
      slack: sendWebhook,
      email: async (del) => (email ? email.send(del) : { ok: false, retriable: false, error: 'email is not configured (alerts.email.smtp_url)' }),
    },
    onGone: async (_channel: DeliveryChannel, target: string) => {
      const sub = subs.get(target);
      const reason = 'answered 410 Gone';
      disabled.set(target, reason);
      d.logger.warn({ subscriber: target }, 'webhook subscriber answered 410 Gone: disabled');
      await d.repo.setSubscriber({ id: target, url: sub?.url ?? '', disabled: true, reason, at: d.now() }, (subVersion = Math.max(subVersion + 1, d.now() * 1000)));
    },
  });

  function deliveriesFor(events: readonly AlertEvent[], now: number): Delivery[] {
    const base = { status: 'pending' as const, attempts: 0, nextAttemptAt: now, lastError: '', createdAt: now, updatedAt: now, deliveredAt: null, cooldownKeys: [] as string[] };
    const out: Delivery[] = [];
    for (const sub of s.webhooks) {
      if (disabled.has(sub.id)) continue;
      for (const e of events) {
        if (sub.events && !sub.events.includes(e.type)) continue;
        const payload = sub.format === 'slack' ? JSON.stringify(slackMessage(e, s.apiUrl())) : JSON.stringify({ type: e.type, timestamp: e.timestamp, data: e.data });
        out.push({ ...base, ...entitiesOf([e]), id: deliveryId(sub.id, JSON.stringify(e)), channel: sub.format === 'slack' ? 'slack' : 'webhook', target: sub.id, eventType: e.type, payload });
      }
    }
    if (s.email) {
      const plan = planEmails(events, s.email, lastMailed, now);
      if (plan.cooledDown > 0) d.logger.debug({ items: plan.cooledDown }, 'alert mails in cooldown');
      for (const mail of plan.mails) {
        for (const k of mail.cooldownKeys) lastMailed.set(k, now);
        const all = mail.items.flatMap((i) => i.events);
        const payload: MailPlan = mail;
        out.push({
          ...base,
          ...entitiesOf(all),
          id: deliveryId('email', mail.to.join(','), JSON.stringify(all)),
          channel: 'email',
          target: mail.to.join(', '),
          eventType: mail.items.length === 1 ? mail.items[0]!.events[0]!.type : 'digest',
          cooldownKeys: mail.cooldownKeys,
          payload: JSON.stringify(payload),
        });
      }
    }
    return out;
  }

  return {
    outbox,
    /** What the outbox holds, newest first (the API's view). */
    list: (f: DeliveryFilter): Promise<Delivery[]> => d.repo.list(f),
    get: (id: string): Promise<Delivery | undefined> => d.repo.get(id),
    /**
     * Bus subscriber: returns at once; planning, storing and sending happen after the detector's tick moves on.
     * The promise settles (never rejects) once these events' deliveries are stored, for a caller that must know.
     */
    onEvents(events: readonly AlertEvent[]): Promise<unknown> {
      if (events.length === 0) return Promise.resolve();
      const at = d.now();
      return (chain = chain
        .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
        .then(async () => {
          const ds = deliveriesFor(events, at);
          if (ds.length > 0) await outbox.add(ds);
        })
        .catch((err: unknown) => d.logger.error({ err, events: events.length }, 'cannot plan or store alert deliveries')));
    },

    /** Restores what the last run knew: disabled subscribers, mail cooldowns, deliveries still open. */
    async start(): Promise<number> {
      for (const r of await d.repo.disabledSubscribers()) disabled.set(r.id, r.reason);
      if (s.email) for (const c of await d.repo.recentCooldowns(d.now() - s.email.cooldownMs)) lastMailed.set(c.key, Math.max(lastMailed.get(c.key) ?? 0, c.at));
      return outbox.start();
    },

    subscribers: () => s.webhooks.map((w) => ({ id: w.id, url: w.url, format: w.format, events: w.events ? [...w.events] : null, disabled: disabled.has(w.id), disabled_reason: disabled.get(w.id) ?? null })),

    async enable(id: string): Promise<boolean> {
      const sub = subs.get(id);
      if (!sub) return false;
      disabled.delete(id);
      await d.repo.setSubscriber({ id, url: sub.url, disabled: false, reason: 're-enabled by operator', at: d.now() }, (subVersion = Math.max(subVersion + 1, d.now() * 1000)));
      return true;
    },

    /** Waits for queued events to be stored and attempts in flight to finish; open deliveries resume on the next start. */
    async close(): Promise<void> {
      await chain;
      await outbox.close();
      email?.close();
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;
