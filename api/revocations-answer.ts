import type { GatewayMirror } from '../detector/gateway-mirror.ts';
import { createRevocationBodies } from '../detector/revocation-bodies.ts';
import { JSON_TYPE } from './authorize-answer.ts';

export interface RevocationQuery {
  since?: number | undefined;
  wait?: number | undefined;
}

/** One revocation-list answer, ready to send; both listeners send exactly this. */
export interface RevocationAnswer {
  status: 200 | 304;
  headers: Record<string, string>;
  /** undefined for 304 */
  body: Buffer | undefined;
}

/**
 * If-None-Match as HTTP defines it: `*`, or a list of entity tags compared weakly (`W/"7"` matches `"7"`). A tag
 * that is not a version matches nothing; unquoted versions are tolerated (`7`), as some gateways send them.
 */
function parseIfNoneMatch(header: string | undefined): '*' | Set<number> | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  if (header.trim() === '*') return '*';
  const versions = new Set<number>();
  for (const part of header.split(',')) {
    const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(part);
    if (m) versions.add(Number(m[1]));
  }
  return versions;
}

/**
 * `GET /v1/revocations` once the query is valid: full list, deltas with `since`, long-poll with `wait`, ETag/304.
 * `onClose` registers a callback for the caller hanging up (it returns the unregistering function): a gateway
 * that hangs up stops waiting at once, not at its timeout.
 */
export function createRevocationAnswerer(list: Pick<GatewayMirror, 'version' | 'versionAt' | 'snapshot' | 'delta' | 'waitForChange'>) {
  const bodies = createRevocationBodies(list);
  return async (q: RevocationQuery, ifNoneMatch: string | undefined, onClose: (hangUp: () => void) => () => void): Promise<RevocationAnswer> => {
    const inm = parseIfNoneMatch(ifNoneMatch);
    const matches = (v: number) => inm === '*' || (inm !== undefined && inm.has(v));
    // `*` matches every version: waiting could never end differently, so it is answered at once.
    const known = q.since ?? (inm instanceof Set && inm.has(list.version) ? list.version : undefined);
    if (q.wait && known !== undefined && known === list.version) {
      const gone = new AbortController();
      const off = onClose(() => gone.abort());
      await list.waitForChange(known, q.wait * 1000, gone.signal);
      off();
    }
    const version = bodies.version;
    const headers = { etag: `"${version}"`, 'cache-control': 'no-cache' };
    if (matches(version)) return { status: 304, headers, body: undefined };
    // Bodies are serialized once per version (detector/revocation-bodies.ts) and sent as buffers.
    return { status: 200, headers: { ...headers, 'content-type': JSON_TYPE }, body: q.since !== undefined ? bodies.since(q.since) : bodies.full() };
  };
}
