/** Text for an HTML body or attribute: every user-controlled string goes through here. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Slack/Mattermost mrkdwn: `&`, `<`, `>` are the control characters (`<!channel>`, `<url|text>` links). */
export function escapeMrkdwn(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** "38.1", "0.4", "1200000": enough digits to compare, no float noise. */
export function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(3)));
}
