import { amount, escapeMrkdwn, escapeMrkdwnCode, ofLimit } from './escape.ts';
import { actionText, isEnforcement, ratioText, restoreCall, shownEvent, summaryOf } from './summary.ts';
import { WHAT, type AlertEvent } from './types.ts';

export interface SlackMessage {
  /** The whole message as mrkdwn: what Mattermost shows, and Slack's notification text. */
  text: string;
  blocks: object[];
}

const ICON: Record<AlertEvent['type'], string> = {
  'quota.threshold': ':warning:',
  'quota.exceeded': ':no_entry:',
  'anomaly.detected': ':rotating_light:',
  'anomaly.resolved': ':white_check_mark:',
  'key.revoked': ':no_entry:',
  'key.throttled': ':hourglass:',
  'key.restored': ':white_check_mark:',
};

/** Slack refuses a whole message whose section text is over 3000 characters (`invalid_blocks`). */
const SECTION_MAX = 3000;

/**
 * Escaped text cut to `max` characters with '…', never inside an entity (`&lt;`) or a surrogate pair. Escaping
 * grows a field up to eightfold (`<` → `&lt;`, a bidi control → `[U+202E]`), so each field has its own budget and
 * the fields of one block stay under Slack's limit together.
 */
export function clipEscaped(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = s.slice(0, max - 1).replace(/&[a-z]{0,3}$/, '');
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut + '…';
}

const field = (s: string, max: number): string => clipEscaped(escapeMrkdwn(s), max);

function usualLine(e: AlertEvent): string | undefined {
  const { observed, expected } = e.data;
  if (observed === undefined || expected === undefined) return undefined;
  if (e.data.source === 'quota') return `*Used:* ${field(ofLimit(e.data.dimension, observed, expected), 200)} (limit)`;
  const r = ratioText(observed, expected);
  return `*Observed:* ${field(amount(e.data.metric, observed), 100)} vs usual ${field(amount(e.data.metric, expected), 100)}${r ? ` (${r})` : ''}`;
}

/**
 * A Slack / Mattermost incoming-webhook message for one event: who, what, how much versus usual, what was done
 * and, when the entity is blocked, the exact call that restores it. User-controlled strings are escaped, so an
 * id cannot ping `@channel` or forge a link.
 */
export function slackMessage(raw: AlertEvent, apiUrl: string): SlackMessage {
  const e = shownEvent(raw);
  const id = field(e.data.entity.id, 600);
  // An id with a backtick cannot sit in inline code; shown as plain (escaped) text then.
  const who = `${e.data.entity.kind} ${id.includes('`') ? id : '`' + id + '`'}`;
  const headline = `${ICON[e.type]} *${WHAT[e.type]}:* ${who}${e.data.tenant ? ` (tenant ${field(e.data.tenant, 300)})` : ''} — ${field(summaryOf(e), 600)}`;
  const details = [
    usualLine(e),
    e.data.policy ? `*Policy:* ${field(e.data.policy, 300)}` : undefined,
    e.data.incident_id ? `*Incident:* ${field(e.data.incident_id, 200)}${e.data.pattern ? ` (${field(e.data.pattern, 100)}${e.data.severity ? `, ${field(e.data.severity, 50)}` : ''})` : ''}` : undefined,
    `*Why:* ${field(e.data.reason, 1200)}`,
    `*Done:* ${field(actionText(e), 700)}`,
  ].filter((l): l is string => l !== undefined);
  // Inside a code block Slack still wants `&`, `<`, `>` escaped (and shows them as typed).
  const restore = isEnforcement(e) ? `*To restore:*\n\`\`\`${escapeMrkdwnCode(restoreCall(raw, apiUrl))}\`\`\`` : undefined;
  const text = [headline, ...details, ...(restore ? [restore] : [])].join('\n');
  const blocks: object[] = [
    { type: 'section', text: { type: 'mrkdwn', text: clipEscaped(headline, SECTION_MAX) } },
    { type: 'section', text: { type: 'mrkdwn', text: clipEscaped(details.join('\n'), SECTION_MAX) } },
    ...(restore ? [{ type: 'section', text: { type: 'mrkdwn', text: restore } }] : []),
    { type: 'context', elements: [{ type: 'mrkdwn', text: `tollkeeper · ${field(e.type, 50)} · ${field(e.timestamp, 50)}` }] },
  ];
  return { text, blocks };
}
