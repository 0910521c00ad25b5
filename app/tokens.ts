import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TokenFile {
  admin_token: string;
  gateway_token: string;
  /** Key for hashing secret-bearing attribute values. */
  hash_key: string;
}

/**
 * Tokens not set in config or env are generated on first start into <data>/tokens.json (mode 0600),
 * and read from there afterwards so they stay stable across restarts.
 */
export function ensureTokens(dataDir: string, configured: Partial<TokenFile>): { tokens: TokenFile; path: string; generated: boolean } {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'tokens.json');
  let stored: Partial<TokenFile> = {};
  if (existsSync(path)) {
    try {
      stored = JSON.parse(readFileSync(path, 'utf8')) as Partial<TokenFile>;
    } catch (err) {
      // The parser's message may quote the file, tokens included: only the position is passed on.
      const at = /position \d+/.exec((err as Error).message)?.[0];
      throw new Error(`${path} is not valid JSON${at ? ` (at ${at})` : ''}; fix or delete it to generate new tokens`);
    }
  }
  const gen = (prefix: string) => prefix + randomBytes(24).toString('base64url');
  const next: TokenFile = {
    admin_token: stored.admin_token ?? gen('tka_'),
    gateway_token: stored.gateway_token ?? gen('tkg_'),
    hash_key: stored.hash_key ?? randomBytes(32).toString('hex'),
  };
  const generated = next.admin_token !== stored.admin_token || next.gateway_token !== stored.gateway_token || next.hash_key !== stored.hash_key;
  if (generated) {
    writeFileSync(path, JSON.stringify(next, null, 2) + '\n', { mode: 0o600 });
    chmodSync(path, 0o600);
  }
  return {
    tokens: {
      admin_token: configured.admin_token ?? next.admin_token,
      gateway_token: configured.gateway_token ?? next.gateway_token,
      hash_key: configured.hash_key ?? next.hash_key,
    },
    path,
    generated,
  };
}

/**
 * A collector or detector on a ClickHouse server, with secret attributes and no configured hash key, would hash
 * secrets with the key generated into its own data directory: every other process has another, so one secret
 * would be a different id in each collector and unknown to the detector's forward-auth (exit code 2).
 */
export class UnsharedHashKeyError extends Error {
  constructor(role: string, secretAttributes: readonly string[], tokensPath: string) {
    super(
      `refusing to start: identity.secret_attributes (${secretAttributes.join(', ')}) are stored as keyed hashes, and this ${role} ` +
        'would hash them with a key generated for its own data directory, unlike the other collectors and the detector on the ' +
        'same ClickHouse server: one secret would become a different id in each process. Fix: set identity.hash_key ' +
        `(at least 16 characters) to one value in the configuration of every process; to keep the ids already stored, use the hash_key of ${tokensPath}.`,
    );
    this.name = 'UnsharedHashKeyError';
  }
}

/** Refuses a split role (collector, detector) on a server that hashes secret attributes without a shared key. */
export function assertSharedHashKey(o: { role: string; server: boolean; secretAttributes: readonly string[]; hashKey: string | undefined; dataDir: string }): void {
  if (o.role === 'all' || !o.server || o.secretAttributes.length === 0 || o.hashKey !== undefined) return;
  throw new UnsharedHashKeyError(o.role, o.secretAttributes, join(o.dataDir, 'tokens.json'));
}
