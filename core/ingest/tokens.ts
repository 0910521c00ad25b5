import { compileScope, type CompiledScope, type IngestScope } from './scope.ts';

/** Where a token was defined: the config file's `ingest.tokens`, the admin API, or the single `auth.otlp_token`. */
export type TokenSource = 'config' | 'api' | 'otlp_token';

/** The name the single `auth.otlp_token` is known by in counters and messages (reserved). */
export const OTLP_TOKEN_NAME = 'otlp_token';

/** A token the collector accepts. */
export interface IngestToken {
  name: string;
  source: TokenSource;
  scope: IngestScope;
  /** null: unscoped, every span is in scope. */
  compiled: CompiledScope | null;
}

/** A token defined by its SHA-256 digest (config file and `auth.otlp_token`). */
export interface DefinedToken {
  name: string;
  source: 'config' | 'otlp_token';
  digest: string;
  scope: IngestScope;
}

/** The newest version of a token created through the admin API, as stored (its SHA-256, never the secret). */
export interface StoredToken {
  name: string;
  version: number;
  digest: string;
  scope: IngestScope;
  revoked: boolean;
  changedAt: number;
}

export type TokenLookup = { ok: true; token: IngestToken } | { ok: false; reason: 'missing' | 'unknown' | 'revoked'; name?: string };

/**
 * Every ingest token the collector knows, in a map keyed by the keyed hash of each token's digest (`keyOf`, with a
 * key of this process): one map access per request whatever the number of tokens, with keys a caller cannot steer,
 * so the lookup's timing tells nothing about the tokens. Revoked tokens are kept apart so their callers learn why
 * they are refused. `required`: OTLP needs a token; it stays true once any token was ever defined, so revoking the
 * last token never opens ingest to anyone.
 */
export class IngestTokenSet {
  #active = new Map<string, IngestToken>();
  #revoked = new Map<string, string>();
  #required = false;
  readonly #keyOf: (digest: string) => string;

  constructor(keyOf: (digest: string) => string) {
    this.#keyOf = keyOf;
  }

  get required(): boolean {
    return this.#required;
  }

  get size(): number {
    return this.#active.size;
  }

  /** Replaces the whole set at once (requests in flight see the old set or the new one, never a mix). */
  replace(defined: readonly DefinedToken[], stored: readonly StoredToken[]): void {
    const active = new Map<string, IngestToken>();
    const revoked = new Map<string, string>();
    for (const d of defined) active.set(this.#keyOf(d.digest), { name: d.name, source: d.source, scope: d.scope, compiled: compileScope(d.scope) });
    for (const s of stored) {
      if (s.revoked) revoked.set(this.#keyOf(s.digest), s.name);
      else active.set(this.#keyOf(s.digest), { name: s.name, source: 'api', scope: s.scope, compiled: compileScope(s.scope) });
    }
    this.#active = active;
    this.#revoked = revoked;
    this.#required = defined.length > 0 || stored.length > 0;
  }

  /** The token a request presents, by its SHA-256 digest (undefined: the request presented none). */
  lookup(digest: string | undefined): TokenLookup {
    if (digest === undefined) return { ok: false, reason: 'missing' };
    const key = this.#keyOf(digest);
    const token = this.#active.get(key);
    if (token) return { ok: true, token };
    const name = this.#revoked.get(key);
    return name === undefined ? { ok: false, reason: 'unknown' } : { ok: false, reason: 'revoked', name };
  }
}
