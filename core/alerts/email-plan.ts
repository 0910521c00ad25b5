import { entityKey, severityOf, WHAT, WHAT_RANK, type AlertEvent, type AlertEventType, type Severity, type What } from './types.ts';

/** Extra recipients for events matching every field given (an empty route matches everything). */
export interface EmailRoute {
  to: readonly string[];
  policy?: string;
  tenant?: string;
  kind?: string;
  /** Events of this severity or worse. */
  severity?: Severity;
  events?: readonly AlertEventType[];
}

export interface EmailRules {
  /** Recipients of every alert. */
  to: readonly string[];
  routes: readonly EmailRoute[];
  /** Same entity and same What within this long is sent once. */
  cooldownMs: number;
}

/** What one entity went through in one tick; `events[0]` names it (the strongest What). */
export interface MailItem {
  what: What;
  events: AlertEvent[];
}

export interface MailPlan {
  to: string[];
  items: MailItem[];
  /** `kind:id|What` of every item: the mail puts them in cooldown. */
  cooldownKeys: string[];
}

export interface EmailPlanResult {
  mails: MailPlan[];
  /** Events dropped because the same entity and What was mailed within the cooldown. */
  cooledDown: number;
  /** Items no recipient wanted. */
  unaddressed: number;
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** Cooldown is per entity and What: `api_key:k-42|Revoked`. */
export const cooldownKey = (e: AlertEvent): string => `${entityKey(e)}|${WHAT[e.type]}`;

function routeMatches(r: EmailRoute, e: AlertEvent): boolean {
  if (r.policy !== undefined && e.data.policy !== r.policy) return false;
  if (r.tenant !== undefined && e.data.tenant !== r.tenant && !(e.data.entity.kind === 'tenant' && e.data.entity.id === r.tenant)) return false;
  if (r.kind !== undefined && e.data.entity.kind !== r.kind) return false;
  if (r.severity !== undefined && SEVERITY_RANK[severityOf(e)] < SEVERITY_RANK[r.severity]) return false;
  if (r.events !== undefined && !r.events.includes(e.type)) return false;
  return true;
}

/** One item per entity: a revocation and the anomaly that caused it in the same tick are one story. */
export function groupByEntity(events: readonly AlertEvent[]): MailItem[] {
  const byEntity = new Map<string, AlertEvent[]>();
  for (const e of events) {
    const k = entityKey(e);
    const list = byEntity.get(k);
    if (list) list.push(e);
    else byEntity.set(k, [e]);
  }
  const items: MailItem[] = [];
  for (const list of byEntity.values()) {
    const sorted = [...list].sort((a, b) => WHAT_RANK[WHAT[b.type]] - WHAT_RANK[WHAT[a.type]]);
    items.push({ what: WHAT[sorted[0]!.type], events: sorted });
  }
  return items.sort((a, b) => WHAT_RANK[b.what] - WHAT_RANK[a.what] || entityKey(a.events[0]!).localeCompare(entityKey(b.events[0]!)));
}

/**
 * The mails one batch of events becomes: per entity one item, items in cooldown dropped, the rest grouped by
 * recipient list, so 500 keys revoked in one tick are one digest per recipient list. `lastSent` maps a cooldown
 * key to when it was last mailed; the caller records the keys of the mails it plans.
 */
export function planEmails(events: readonly AlertEvent[], rules: EmailRules, lastSent: ReadonlyMap<string, number>, now: number): EmailPlanResult {
  let cooledDown = 0;
  let unaddressed = 0;
  const byRecipients = new Map<string, MailPlan>();
  // Cooldown first, per event: a cooled-down revocation must not swallow the restore of the same key.
  const fresh = events.filter((e) => {
    const last = lastSent.get(cooldownKey(e));
    const cooled = last !== undefined && now - last < rules.cooldownMs;
    if (cooled) cooledDown++;
    return !cooled;
  });
  for (const item of groupByEntity(fresh)) {
    const to = new Set(rules.to);
    for (const r of rules.routes) if (item.events.some((e) => routeMatches(r, e))) for (const a of r.to) to.add(a);
    if (to.size === 0) {
      unaddressed++;
      continue;
    }
    const list = [...to].sort();
    const id = list.join(',');
    const mail = byRecipients.get(id) ?? { to: list, items: [], cooldownKeys: [] };
    mail.items.push(item);
    for (const k of new Set(item.events.map(cooldownKey))) mail.cooldownKeys.push(k);
    byRecipients.set(id, mail);
  }
  return { mails: [...byRecipients.values()], cooledDown, unaddressed };
}
