/**
 * Stable error codes the product reports. Each code has one HTTP status, set in one table in api/errors.ts;
 * services and domain code never deal in status codes. Add a code here and its status there.
 */
export type ErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'invalid_request'
  | 'invalid_policy'
  | 'invalid_ttl'
  | 'invalid_range'
  | 'missing_limit'
  | 'conflict'
  | 'idempotency_key_reused'
  | 'unpriced_model'
  | 'replay_too_long'
  | 'unsupported_media_type';

/** An expected failure with a stable code and the messages a client needs (each names a path and a value). */
export class TollkeeperError extends Error {
  readonly code: ErrorCode;
  readonly errors: readonly string[];
  constructor(code: ErrorCode, message: string, errors?: readonly string[]) {
    super(message);
    this.name = 'TollkeeperError';
    this.code = code;
    this.errors = errors ?? [message];
  }
}

/** Outcome of an operation where failure is normal: a value, or a coded failure with its messages. */
export type Outcome<T, C extends ErrorCode = ErrorCode> = { ok: true; value: T } | { ok: false; code: C; errors: string[] };

/** The value of an outcome, or its failure thrown as a TollkeeperError (for shells that answer it, like routes). */
export function valueOrThrow<T>(r: Outcome<T>): T {
  if (r.ok) return r.value;
  throw new TollkeeperError(r.code, r.errors[0] ?? r.code, r.errors);
}
