/** What a token lets its bearer do (api/auth.ts says which routes each may call). */
export type Role = 'admin' | 'gateway' | 'metrics';

/** The secrets that carry a role. */
export interface RoleTokens {
  admin: string;
  gateway?: string | undefined;
  metrics?: string | undefined;
}

// The gateway listener's token check, without building anything per request: forward-auth is asked thousands of
// times a second, and a digest per request (a native hash object and a buffer) is garbage the worker's collector
// must visit while requests wait.

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
 * The role a presented token carries (admin, gateway, metrics tokens; the API port's auth plugin and the gateway listener both use it), every configured token
 * compared in constant time.
 */
export function tokenRoles(tokens: RoleTokens): (token: string) => Role | null {
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
