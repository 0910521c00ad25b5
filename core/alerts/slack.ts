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

function usualLine(e: AlertEvent): string | undefined {
  const { observed, expected } = e.data;
  if (observed === undefined || expected === undefined) return undefined;
  if (e.data.source === 'quota') return `*Used:* ${escapeMrkdwn(ofLimit(e.data.dimension, observed, expected))} (limit)`;
  const r = ratioText(observed, expected);
  return `*Observed:* ${escapeMrkdwn(amount(e.data.metric, observed))} vs usual ${escapeMrkdwn(amount(e.data.metric, expected))}${r ? ` (${r})` : ''}`;
}

/**
 * A Slack / Mattermost incoming-webhook message for one event: who, what, how much versus usual, what was done
 * and, when the entity is blocked, the exact call that restores it. User-controlled strings are escaped, so an
 * id cannot ping `@channel` or forge a link.
 */
export function slackMessage(raw: AlertEvent, apiUrl: string): SlackMessage {
  const e = shownEvent(raw);
  const id = escapeMrkdwn(e.data.entity.id);
  // An id with a backtick cannot sit in inline code; shown as plain (escaped) text then.
  const who = `${e.data.entity.kind} ${id.includes('`') ? id : '`' + id + '`'}`;
  const headline = `${ICON[e.type]} *${WHAT[e.type]}:* ${who}${e.data.tenant ? ` (tenant ${escapeMrkdwn(e.data.tenant)})` : ''} — ${escapeMrkdwn(summaryOf(e))}`;
  const details = [
    usualLine(e),
    e.data.policy ? `*Policy:* ${escapeMrkdwn(e.data.policy)}` : undefined,
    e.data.incident_id ? `*Incident:* ${escapeMrkdwn(e.data.incident_id)}${e.data.pattern ? ` (${escapeMrkdwn(e.data.pattern)}${e.data.severity ? `, ${escapeMrkdwn(e.data.severity)}` : ''})` : ''}` : undefined,
    `*Why:* ${escapeMrkdwn(e.data.reason)}`,
    `*Done:* ${escapeMrkdwn(actionText(e))}`,
  ].filter((l): l is string => l !== undefined);
  // Inside a code block Slack still wants `&`, `<`, `>` escaped (and shows them as typed).
  const restore = isEnforcement(e) ? `*To restore:*\n\`\`\`${escapeMrkdwnCode(restoreCall(raw, apiUrl))}\`\`\`` : undefined;
  const text = [headline, ...details, ...(restore ? [restore] : [])].join('\n');
  const blocks: object[] = [
    { type: 'section', text: { type: 'mrkdwn', text: headline } },
    { type: 'section', text: { type: 'mrkdwn', text: details.join('\n') } },
    ...(restore ? [{ type: 'section', text: { type: 'mrkdwn', text: restore } }] : []),
    { type: 'context', elements: [{ type: 'mrkdwn', text: `tollkeeper · ${escapeMrkdwn(e.type)} · ${escapeMrkdwn(e.timestamp)}` }] },
  ];
  return { text, blocks };
}
