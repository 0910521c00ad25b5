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
