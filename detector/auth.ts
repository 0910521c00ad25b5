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

/** Who a request is: admin, gateway, or nobody (SPEC §11 "Auth"). */
export function roleOf(request: FastifyRequest, tokens: Tokens): Role | null {
  const header = request.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(header);
  if (!m) return null;
  const token = m[1]!.trim();
  if (safeEqual(token, tokens.admin)) return 'admin';
  if (tokens.gateway && safeEqual(token, tokens.gateway)) return 'gateway';
  return null;
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
