import type { Decision } from './decide.ts';

/**
 * A free-text reason (entity ids, policy names, "±", "×") as a header value, which must be visible ASCII: `%` and
 * every character outside visible ASCII are percent-encoded as UTF-8 (decodeURIComponent gives the text back), cut at 512 bytes.
 */
export const headerSafe = (s: string): string => {
  // A lone surrogate has no UTF-8 form (encodeURIComponent would throw): U+FFFD instead.
  const wellFormed = s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  const encoded = wellFormed.replace(/[^\x20-\x24\x26-\x7e]+/gu, (run) => encodeURIComponent(run));
  // Never cut inside an escape.
  return encoded.length <= 512 ? encoded : encoded.slice(0, 512).replace(/%[0-9A-F]?$/, '');
};
// A structured-field string: no backslash or double quote inside.
const sfString = (s: string) => `"${s.replace(/[^\x20-\x7e]|["\\]/g, '_').slice(0, 64)}"`;

/**
 * The headers that go with a refusal: `x-tollkeeper-reason` always; for a throttle `Retry-After` (seconds) and
 * the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy: "<name>";q=<requests>;w=60`
 * and `RateLimit: "<name>";r=0;t=<seconds until the next request is allowed>`.
 */
export function denialHeaders(d: Exclude<Decision, { allowed: true }>): Record<string, string> {
  const h: Record<string, string> = { 'x-tollkeeper-reason': headerSafe(`${d.denial.decision}: ${d.denial.reason}`) };
  if (d.status === 429) {
    const seconds = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
    const name = sfString(d.denial.policy ?? d.denial.source);
    h['retry-after'] = String(seconds);
    // A token limit is a quota in tokens (quota unit "tokens"); a request limit in requests, the default unit.
    h['ratelimit-policy'] = d.tokensPerMinute !== undefined ? `${name};q=${Math.round(d.tokensPerMinute)};qu="tokens";w=60` : `${name};q=${Math.round(d.requestsPerMinute ?? 0)};w=60`;
    h['ratelimit'] = `${name};r=0;t=${seconds}`;
  }
  return h;
}
