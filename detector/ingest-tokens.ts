import type { Outcome } from '../core/errors.ts';
import type { IngestScope } from '../core/ingest/scope.ts';
import { tokenDigest } from '../core/ingest/token-hash.ts';
import { OTLP_TOKEN_NAME, type DefinedToken, type IngestTokenSet, type TokenSource } from '../core/ingest/tokens.ts';
import type { IngestTokenChange, IngestTokenRepo } from '../store/ingest-token-repo.ts';

/** A token as the admin API shows it: never its secret nor its hash. */
export interface IngestTokenView {
  name: string;
  source: TokenSource;
  state: 'active' | 'revoked';
  scope: { tenants?: string[]; api_keys?: string[]; services?: string[] };
  /** API tokens: the version of the last change, and when and by whom it was made. */
  version: number | null;
  changed_at: string | null;
}

export interface CreateInput {
  name: string;
  tenants?: string[];
  api_keys?: string[];
  services?: string[];
}

export interface IngestTokenDeps {
  repo: IngestTokenRepo;
  /** Tokens of the config file and `auth.otlp_token`, fixed for the life of the process. */
  defined: readonly DefinedToken[];
  /** The set the collector's auth reads (shared with it when both run in one process). */
  set: IngestTokenSet;
  now: () => number;
  newSecret: () => string;
}

const scopeView = (s: IngestScope): IngestTokenView['scope'] => ({
  ...(s.tenants ? { tenants: [...s.tenants] } : {}),
  ...(s.apiKeys ? { api_keys: [...s.apiKeys] } : {}),
  ...(s.services ? { services: [...s.services] } : {}),
});

/**
 * Ingest tokens from the config file (read-only here) and from the admin API (versioned in ClickHouse). Every change
 * is stored before it applies; the set the collector checks is rebuilt from the store after each change, and by
 * `load()` in a collector running as a process of its own.
 */
export function createIngestTokenService(d: IngestTokenDeps) {
  let stored: IngestTokenChange[] = [];
  // One change at a time: two creates of one name must not both find it free.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };

  async function load(): Promise<void> {
    stored = await d.repo.latest();
    d.set.replace(d.defined, stored);
  }

  const storedView = (c: IngestTokenChange): IngestTokenView => ({
    name: c.name,
    source: 'api',
    state: c.revoked ? 'revoked' : 'active',
    scope: scopeView(c.scope),
    version: c.version,
    changed_at: new Date(c.changedAt).toISOString(),
  });

  return {
    load,
    /** Whether OTLP requests need a token now. */
    required: (): boolean => d.set.required,
    /** Every token: the config file's and `auth.otlp_token` first, then the API's, revoked ones included. */
    list(): IngestTokenView[] {
      const defined = d.defined.map((t): IngestTokenView => ({ name: t.name, source: t.source, state: 'active', scope: scopeView(t.scope), version: null, changed_at: null }));
      return [...defined, ...stored.map(storedView)];
    },

    /** A new token with a fresh secret, returned this once (only its SHA-256 is kept). */
    create(input: CreateInput, actor: string): Promise<Outcome<{ view: IngestTokenView; token: string }>> {
      return serial(async () => {
        if (input.name === OTLP_TOKEN_NAME || d.defined.some((t) => t.name === input.name)) {
          return { ok: false, code: 'conflict', errors: [`ingest token ${JSON.stringify(input.name)} is defined in the config file; choose another name`] };
        }
        const prev = stored.find((c) => c.name === input.name);
        if (prev && !prev.revoked) return { ok: false, code: 'conflict', errors: [`ingest token ${JSON.stringify(input.name)} exists; revoke it first or choose another name`] };
        const secret = d.newSecret();
        const scope: IngestScope = { ...(input.tenants ? { tenants: input.tenants } : {}), ...(input.api_keys ? { apiKeys: input.api_keys } : {}), ...(input.services ? { services: input.services } : {}) };
        const change: IngestTokenChange = { name: input.name, version: (prev?.version ?? 0) + 1, digest: tokenDigest(secret), scope, revoked: false, changedAt: d.now(), actor };
        await d.repo.append(change);
        await load();
        return { ok: true, value: { view: storedView(change), token: secret } };
      });
    },

    /** Revokes an API token at once in this process (a separate collector process within its refresh interval). */
    revoke(name: string, actor: string): Promise<Outcome<IngestTokenView>> {
      return serial(async () => {
        if (name === OTLP_TOKEN_NAME || d.defined.some((t) => t.name === name)) {
          return { ok: false, code: 'conflict', errors: [`ingest token ${JSON.stringify(name)} is defined in the config file; remove it there and restart`] };
        }
        const prev = stored.find((c) => c.name === name);
        if (!prev || prev.revoked) return { ok: false, code: 'not_found', errors: [`no active ingest token ${JSON.stringify(name)}`] };
        // The revoked row keeps the hash, so a caller still sending the token is told it was revoked.
        const change: IngestTokenChange = { ...prev, version: prev.version + 1, revoked: true, changedAt: d.now(), actor };
        await d.repo.append(change);
        await load();
        return { ok: true, value: storedView(change) };
      });
    },
  };
}
export type IngestTokenService = ReturnType<typeof createIngestTokenService>;

/** The tokens defined outside the API: `auth.otlp_token` (unscoped) and the config file's `ingest.tokens`. */
export function definedTokens(otlpToken: string | undefined, tokens: readonly { name: string; token?: string | undefined; token_hash?: string | undefined; tenants?: string[] | undefined; api_keys?: string[] | undefined; services?: string[] | undefined }[]): DefinedToken[] {
  const out: DefinedToken[] = [];
  if (otlpToken) out.push({ name: OTLP_TOKEN_NAME, source: 'otlp_token', digest: tokenDigest(otlpToken), scope: {} });
  for (const t of tokens) {
    const digest = t.token !== undefined ? tokenDigest(t.token) : t.token_hash?.toLowerCase();
    if (digest === undefined) continue; // the config check requires one of them
    const scope: IngestScope = { ...(t.tenants ? { tenants: t.tenants } : {}), ...(t.api_keys ? { apiKeys: t.api_keys } : {}), ...(t.services ? { services: t.services } : {}) };
    out.push({ name: t.name, source: 'config', digest, scope });
  }
  return out;
}
