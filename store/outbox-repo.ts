import type { ClickHouse } from './port.ts';
import { chTime, fromChTime } from './time.ts';

export type DeliveryChannel = 'webhook' | 'slack' | 'email';
/** pending: not tried yet (or redelivery asked); failed: last try failed, another is scheduled; dead: given up. */
export type DeliveryStatus = 'pending' | 'failed' | 'delivered' | 'dead';

export interface Delivery {
  /** Stable across retries: the `webhook-id` header, the mail's Message-ID. */
  id: string;
  channel: DeliveryChannel;
  /** Subscriber id (webhook, slack) or the recipient list (email). */
  target: string;
  /** The event type, or `digest` for a mail about several entities. */
  eventType: string;
  /** `kind:id` of every entity the delivery is about. */
  entities: string[];
  entityIds: string[];
  cooldownKeys: string[];
  /** What is sent: the exact signed body (webhook), the message (slack), the mail plan (email). */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string;
  createdAt: number;
  updatedAt: number;
  deliveredAt: number | null;
}

export interface DeliveryFilter {
  channel?: DeliveryChannel;
  status?: DeliveryStatus;
  entity?: string;
  kind?: string;
  limit: number;
}

function toRow(d: Delivery, version: number) {
  return {
    id: d.id,
    version,
    channel: d.channel,
    target: d.target,
    event_type: d.eventType,
    entities: d.entities,
    entity_ids: d.entityIds,
    cooldown_keys: d.cooldownKeys,
    payload: d.payload,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: chTime(d.nextAttemptAt),
    last_error: d.lastError,
    created_at: chTime(d.createdAt),
    updated_at: chTime(d.updatedAt),
    delivered_at: d.deliveredAt === null ? null : chTime(d.deliveredAt),
  };
}

function fromRow(r: Record<string, unknown>): Delivery {
  return {
    id: String(r.id),
    channel: r.channel as DeliveryChannel,
    target: String(r.target),
    eventType: String(r.event_type),
    entities: r.entities as string[],
    entityIds: r.entity_ids as string[],
    cooldownKeys: r.cooldown_keys as string[],
    payload: String(r.payload),
    status: r.status as DeliveryStatus,
    attempts: Number(r.attempts),
    nextAttemptAt: fromChTime(String(r.next_attempt_at)),
    lastError: String(r.last_error),
    createdAt: fromChTime(String(r.created_at)),
    updatedAt: fromChTime(String(r.updated_at)),
    deliveredAt: typeof r.delivered_at === 'string' ? fromChTime(r.delivered_at) : null,
  };
}

/** The alerts outbox in ClickHouse: every state change is a new row version; reads take the newest (FINAL). */
export function createOutboxRepo(ch: ClickHouse) {
  const outbox = ch.table('alert_outbox');
  const subscribers = ch.table('alert_subscribers');
  return {
    async save(rows: readonly Delivery[], version: number): Promise<void> {
      await ch.insert('alert_outbox', rows.map((d) => toRow(d, version)), { tag: 'outbox.save' });
    },

    /** Which of these ids are already in the outbox (a decision published twice is one delivery). */
    async existing(ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await ch.query<{ id: string }>(`SELECT DISTINCT id FROM ${outbox} WHERE id IN {ids:Array(String)}`, { ids }, { tag: 'outbox.existing' });
      return new Set(rows.map((r) => r.id));
    },

    /** Deliveries still to be made (pending or failed with a retry scheduled). */
    async open(): Promise<Delivery[]> {
      const rows = await ch.query<Record<string, unknown>>(`SELECT * FROM ${outbox} FINAL WHERE status IN ('pending', 'failed') ORDER BY created_at`, {}, { tag: 'outbox.open' });
      return rows.map(fromRow);
    },

    async get(id: string): Promise<Delivery | undefined> {
      const rows = await ch.query<Record<string, unknown>>(`SELECT * FROM ${outbox} FINAL WHERE id = {id:String}`, { id }, { tag: 'outbox.get' });
      return rows[0] ? fromRow(rows[0]) : undefined;
    },

    async list(f: DeliveryFilter): Promise<Delivery[]> {
      const where: string[] = [];
      if (f.channel) where.push('channel = {channel:String}');
      if (f.status) where.push('status = {status:String}');
      if (f.entity && f.kind) where.push('has(entities, {key:String})');
      else if (f.entity) where.push('has(entity_ids, {entity:String})');
      else if (f.kind) where.push('arrayExists(e -> startsWith(e, {kindPrefix:String}), entities)');
      const rows = await ch.query<Record<string, unknown>>(
        `SELECT * FROM ${outbox} FINAL ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, id LIMIT {limit:UInt32}`,
        { ...f, key: `${f.kind ?? ''}:${f.entity ?? ''}`, kindPrefix: `${f.kind ?? ''}:` },
        { tag: 'outbox.list' },
      );
      return rows.map(fromRow);
    },

    /** Cooldown keys of mails planned since `since` and when (a mail still being retried counts as sent). */
    async recentCooldowns(since: number): Promise<{ key: string; at: number }[]> {
      const rows = await ch.query<{ key: string; at: string }>(
        `SELECT arrayJoin(cooldown_keys) AS key, toString(max(created_at)) AS at FROM ${outbox} WHERE channel = 'email' AND created_at >= {since:DateTime64(3)} GROUP BY key`,
        { since: chTime(since) },
        { tag: 'outbox.cooldowns' },
      );
      return rows.map((r) => ({ key: r.key, at: fromChTime(r.at) }));
    },

    async disabledSubscribers(): Promise<{ id: string; url: string; reason: string; at: number }[]> {
      const rows = await ch.query<{ id: string; url: string; reason: string; updated_at: string }>(`SELECT id, url, reason, updated_at FROM ${subscribers} FINAL WHERE disabled = 1`, {}, { tag: 'outbox.subscribers' });
      return rows.map((r) => ({ id: r.id, url: r.url, reason: r.reason, at: fromChTime(r.updated_at) }));
    },

    async setSubscriber(s: { id: string; url: string; disabled: boolean; reason: string; at: number }, version: number): Promise<void> {
      await ch.insert('alert_subscribers', [{ id: s.id, version, url: s.url, disabled: s.disabled ? 1 : 0, reason: s.reason, updated_at: chTime(s.at) }], { tag: 'outbox.subscriber' });
    },
  };
}

export type OutboxRepo = ReturnType<typeof createOutboxRepo>;
