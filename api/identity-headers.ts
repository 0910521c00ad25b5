import type { IncomingHttpHeaders } from 'node:http';

// Headers node keeps only the first of when they are repeated (the rest are dropped, not joined): among the names
// an identity header may have, `authorization` is the one that matters.
const FIRST_ONLY = new Set(['authorization', 'proxy-authorization', 'from', 'user-agent', 'referer']);

/**
 * The identity header of a request that names more than one identity, if any. Node joins a repeated header into
 * "a, b" and keeps only the first of a repeated Authorization, so a request whose gateway added its header without
 * removing the client's (or a client sending a comma) would otherwise be judged on an identity nobody has, or on
 * one of two while the upstream reads the other: a revoked key would pass. Such a request is refused instead.
 * `raw` is node's raw header list (name, value, name, value …), needed only to see a repeated Authorization.
 */
export function ambiguousIdentityHeader(headers: IncomingHttpHeaders, raw: readonly string[] | undefined, names: readonly string[]): string | undefined {
  for (const name of names) {
    const v = headers[name];
    if (Array.isArray(v) ? v.length > 1 : v !== undefined && v.includes(',')) return name;
  }
  if (raw === undefined) return undefined;
  for (const name of names) {
    if (!FIRST_ONLY.has(name)) continue;
    let seen = 0;
    for (let i = 0; i < raw.length; i += 2) {
      const n = raw[i]!;
      if (n.length === name.length && n.toLowerCase() === name && ++seen > 1) return name;
    }
  }
  return undefined;
}
