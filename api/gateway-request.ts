import type { IncomingMessage } from 'node:http';
import type { Role, Tokens } from './auth.ts';

// What the gateway listener reads off each request, without building anything per request: forward-auth is asked
// thousands of times a second, and every object made per request is garbage the worker's collector must visit
// while requests wait.

/** `name` (lower case) equals a raw header name in any case, compared without making a lower-cased copy. */
function sameName(raw: string, name: string): boolean {
  if (raw.length !== name.length) return false;
  if (raw === name) return true;
  for (let i = 0; i < raw.length; i++) {
    let c = raw.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== name.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * A request header's value as `req.headers[name]` has it (an empty value counts as absent), read from node's raw
 * header list so the headers object is never built. A name sent more than once is rare; node's rules for those
 * (the first `Authorization` wins, other values are joined with ", ") are taken from `req.headers` itself.
 */
export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const raw = req.rawHeaders;
  let found: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (!sameName(raw[i]!, name)) continue;
    if (found !== undefined) {
      const v = req.headers[name];
      const s = Array.isArray(v) ? v[0] : v;
      return s === '' ? undefined : s;
    }
    found = raw[i + 1]!;
  }
  return found === '' ? undefined : found;
}

/**
 * Equal strings, in time that depends on the expected string's length only (not on where they first differ), like
 * comparing digests with `timingSafeEqual` but without hashing and allocating a digest per request.
 */
function sameSecret(presented: string, expected: string): boolean {
  let diff = presented.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= (presented.charCodeAt(i) | 0) ^ expected.charCodeAt(i);
  return diff === 0;
}

/**
 * The role a presented token carries (the API port's rules: admin, gateway, metrics tokens), every configured token
 * compared in constant time.
 */
export function tokenRoles(tokens: Pick<Tokens, 'admin' | 'gateway' | 'metrics'>): (token: string) => Role | null {
  const known: [string, Role][] = [[tokens.admin, 'admin']];
  if (tokens.gateway) known.push([tokens.gateway, 'gateway']);
  if (tokens.metrics) known.push([tokens.metrics, 'metrics']);
  return (token) => {
    let role: Role | null = null;
    // Every token is compared (no early return), so the time taken does not say which one matched.
    for (const [t, r] of known) if (sameSecret(token, t) && role === null) role = r;
    return role;
  };
}
