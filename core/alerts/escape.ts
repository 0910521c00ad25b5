import { formatAmount } from '../anomaly/explain.ts';
import { METRICS, type Metric } from '../anomaly/types.ts';

/** Text for an HTML body or attribute: every user-controlled string goes through here. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Bidi controls reorder what follows them (an id "k-\u202Egnp.exe" shows as "k-exe.png" and flips the rest of a
// subject line); zero-width characters make two different ids look alike. In text people read they are shown as
// a visible code point, "[U+202E]"; the restore call keeps the exact id. ZWJ stays: emoji sequences need it.
const INVISIBLE = /[\u061C\u200B\u200C\u200E\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/g;

/** `s` with each bidi control and zero-width character written as "[U+XXXX]". */
export function markInvisible(s: string): string {
  return s.replace(INVISIBLE, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}

/** Inside a Slack/Mattermost code block: `&`, `<`, `>` escaped (shown as typed), everything else exact. */
export function escapeMrkdwnCode(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/**
 * Text in a Slack/Mattermost message. Slack's controls are `&`, `<`, `>` (`<!channel>`, `<@U…>`, `<url|text>`);
 * Mattermost renders Markdown and pings on `@channel`, `@all`, `@here` and `@name` written as text, so a zero-width
 * space follows each `@` and separates `](` (a Markdown link or image). Line breaks become spaces: a field stays
 * on its line, and an id cannot add a line of its own ("*Why:* …").
 */
export function escapeMrkdwn(s: string): string {
  return escapeMrkdwnCode(s)
    .replace(/\r\n|[\r\n\v\f\u0085\u2028\u2029]/g, ' ')
    .replaceAll('@', '@\u200B')
    .replaceAll('](', ']\u200B(');
}

/** "38.1", "0.4", "1200000": enough digits to compare, no float noise. */
export function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(3)));
}

/** "$4.10 of $5.00", "2 of 1 requests": used versus limit in the dimension's unit. */
export function ofLimit(unit: unknown, used: number, limit: number): string {
  return `${unit === 'cost_usd' ? amount(unit, used) : num(used)} of ${amount(unit, limit)}`;
}

/** "$38.10", "1.2M tokens", "240 requests", "3 input tokens": a number in the unit of its metric or dimension. */
export function amount(unit: unknown, v: number): string {
  if (typeof unit !== 'string' || unit === '') return num(v);
  if ((METRICS as readonly string[]).includes(unit)) return formatAmount(unit as Metric, v);
  return `${num(v)} ${unit.replaceAll('_', ' ')}`;
}
