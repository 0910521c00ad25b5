import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Constant-time comparison that does not leak the length either (both sides hashed first). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export type Role = 'admin' | 'gateway';

export interface Tokens {
  admin: string;
  gateway?: string | undefined;
}

// Digests of the configured tokens, computed once: a check then hashes only the presented token (the
// revocation list and forward-auth are asked tens of thousands of times a second).
const digests = new Map<string, Buffer>();
function digestOf(token: string): Buffer {
  let d = digests.get(token);
  if (!d) {
    d = createHash('sha256').update(token).digest();
    if (digests.size > 16) digests.clear();
    digests.set(token, d);
  }
  return d;
}

/** The role a presented token carries, compared in constant time. */
export function roleOfToken(token: string, tokens: Tokens): Role | null {
  const presented = createHash('sha256').update(token).digest();
  if (timingSafeEqual(presented, digestOf(tokens.admin))) return 'admin';
  if (tokens.gateway && timingSafeEqual(presented, digestOf(tokens.gateway))) return 'gateway';
  return null;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  if (!header || header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = header.slice(7).trim();
  return token === '' ? undefined : token;
}

/** Who a request is: admin, gateway, or nobody. */
export function roleOf(request: FastifyRequest, tokens: Tokens): Role | null {
  const token = bearerOf(request.headers.authorization);
  return token === undefined ? null : roleOfToken(token, tokens);
}

/** preHandler: 401 without a known token, 403 when the token lacks the role. */
export function requireRole(tokens: Tokens, allowed: readonly Role[]) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const role = roleOf(request, tokens);
    if (!role) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'missing or unknown bearer token' });
      return;
    }
    if (!allowed.includes(role)) {
      await reply.code(403).send({ error: 'forbidden', message: `the ${role} token cannot do this` });
    }
  };
}
