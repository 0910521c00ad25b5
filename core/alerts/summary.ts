import { markInvisible } from './escape.ts';
import { WHAT, type AlertEvent } from './types.ts';

const MAX_SUMMARY = 140;

/** "95×" for a ratio of observed to expected, or '' when there is no usual to compare with. */
export function ratioText(observed: number | undefined, expected: number | undefined): string {
  if (observed === undefined || expected === undefined || !(expected > 0) || !Number.isFinite(observed)) return '';
  const r = observed / expected;
  return `${r >= 10 ? Math.round(r) : r.toFixed(1)}×`;
}

function clip(s: string): string {
  return s.length <= MAX_SUMMARY ? s : s.slice(0, MAX_SUMMARY - 1) + '…';
}

/** The reason without its leading "<kind> <id> " (the subject already names the entity). */
function withoutEntity(e: AlertEvent): string {
  const head = `${e.data.entity.kind} ${e.data.entity.id} `;
  return e.data.reason.startsWith(head) ? e.data.reason.slice(head.length) : e.data.reason;
}

/**
 * One line after the entity in a subject or chat message, e.g. "$38.10 in 5 min, 95× usual" for an anomaly
 * (from the incident's explanation) or "$4.10 of $5.00 cost_usd (82%), policy free-daily" for a quota.
 */
export function summaryOf(e: AlertEvent): string {
  const rest = withoutEntity(e);
  if (e.data.source === 'anomaly' && e.type !== 'anomaly.resolved') {
    // "spent $38.10 in 5 min; its usual is …" → "$38.10 in 5 min"
    const m = /^(?:spent|used|made)\s+(.+?)(?:;|,| at a steady| while |$)/.exec(rest);
    const amount = m?.[1] ?? rest;
    const ratio = ratioText(e.data.observed, e.data.expected);
    return clip(ratio ? `${amount}, ${ratio} usual` : amount);
  }
  if (e.data.source === 'quota') {
    const m = /^used\s+(.+?)\s+under policy\s+(.+)$/.exec(rest);
    if (m) return clip(`${m[1]!}, policy ${m[2]!}`);
  }
  if (e.type === 'anomaly.resolved') return clip(`${e.data.pattern ?? 'anomaly'} back to normal`);
  if (e.type === 'key.restored') return clip(`restored (${e.data.source})${rest && rest !== 'restore' ? `: ${rest}` : ''}`);
  return clip(rest);
}

/** "3 requests per minute and 1000 tokens per minute" for a throttle's limit; undefined without one. */
function rateText(limit: unknown): string | undefined {
  if (typeof limit !== 'object' || limit === null) return undefined;
  const l = limit as { requests_per_minute?: unknown; tokens_per_minute?: unknown };
  const parts = [typeof l.requests_per_minute === 'number' ? `${l.requests_per_minute} requests per minute` : '', typeof l.tokens_per_minute === 'number' ? `${l.tokens_per_minute} tokens per minute` : ''].filter(Boolean);
  return parts.length ? parts.join(' and ') : undefined;
}

/** What was done, in words a person acts on. */
export function actionText(e: AlertEvent): string {
  switch (e.type) {
    case 'key.revoked':
      return `Revoked: every request carrying ${e.data.entity.kind} ${e.data.entity.id} is refused by gateways`;
    case 'key.throttled':
      return `Throttled to ${rateText(e.data.limit) ?? 'its configured rate'}`;
    case 'key.restored':
      return 'Restored: no longer on the revocation list';
    case 'anomaly.resolved':
      return 'Nothing: the incident is closed';
    default:
      if (e.data.action?.startsWith('shadow:')) return `Nothing (shadow mode): ${e.data.source === 'quota' ? 'the policy' : 'the anomaly settings'} would ${e.data.action.slice('shadow:'.length)}`;
      return e.data.action === undefined || e.data.action === 'alert' ? 'Alert only (no enforcement)' : `Policy action: ${e.data.action}`;
  }
}

/** True when the entity is on the revocation list because of this event, so the message says how to lift it. */
export function isEnforcement(e: AlertEvent): boolean {
  return e.type === 'key.revoked' || e.type === 'key.throttled';
}

const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** The exact API call that lifts the entry (JSON-encoded body, shell-quoted, so any id is safe to paste). */
export function restoreCall(e: AlertEvent, apiUrl: string): string {
  const body = JSON.stringify({ action: 'restore', kind: e.data.entity.kind, id: e.data.entity.id, reason: 'restored by operator' });
  return `curl -X POST ${shellQuote(apiUrl.replace(/\/+$/, '') + '/v1/enforcement')} -H "authorization: Bearer $TOLLKEEPER_ADMIN_TOKEN" -H 'content-type: application/json' -d ${shellQuote(body)}`;
}

/** The entity's page in the built-in web UI, served on the API port (its data asks for the admin token). */
export function entityPageUrl(apiUrl: string, kind: string, id: string): string {
  return `${apiUrl.replace(/\/+$/, '')}/#/entity/${encodeURIComponent(kind)}/${encodeURIComponent(id)}`;
}

/** "[tollkeeper] Revoked: api_key k-42 — $38.10 in 5 min, 95× usual" */
export function singleSubject(e: AlertEvent): string {
  return oneLine(`[tollkeeper] ${WHAT[e.type]}: ${e.data.entity.kind} ${e.data.entity.id} — ${summaryOf(e)}`);
}

/** Header values must not carry line breaks or control characters a hostile id could smuggle in. */
export function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
}

/** The event as people read it: ids, tenant, policy and reason with invisible characters made visible. */
export function shownEvent(e: AlertEvent): AlertEvent {
  const d = e.data;
  return {
    ...e,
    data: {
      ...d,
      entity: { ...d.entity, id: markInvisible(d.entity.id) },
      reason: markInvisible(d.reason),
      ...(d.tenant !== undefined ? { tenant: markInvisible(d.tenant) } : {}),
      ...(d.policy !== undefined ? { policy: markInvisible(d.policy) } : {}),
    },
  };
}
