import { createHash, createHmac } from 'node:crypto';

/**
 * How ingest token secrets are kept: never as such, only as their SHA-256 (in the token table, and in the config
 * file as `token_hash`, computed with `printf %s "$TOKEN" | sha256sum`). A generated token holds 192 random bits, so
 * its digest cannot be turned back into it. In memory the digests are keyed once more (HMAC-SHA256 with a key of
 * the process) to be looked up (core/ingest/tokens.ts).
 */

/** SHA-256 of a token, lower-case hex. */
export function tokenDigest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** The lookup key of a digest under `key`. */
export function keyedDigest(key: Buffer | string, digest: string): string {
  return createHmac('sha256', key).update(digest).digest('hex');
}
