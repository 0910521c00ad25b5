import { describe, expect, it } from 'vitest';
import { createAuthorizeAnswerer } from '../../api/authorize-answer.ts';
import { headerSafe } from '../../core/enforcement/denial-headers.ts';
import { RevocationList } from '../../core/enforcement/revocation-list.ts';
import { createForwardAuth } from '../../detector/forward-auth.ts';
import { createGatewayMirror } from '../../detector/gateway-mirror.ts';

// A request must name one identity per header: a repeated header (node joins it into "a, b", or keeps only the
// first Authorization) would otherwise be judged on an identity nobody has, and a revoked key would pass.

const HEADERS = { api_key: 'x-tollkeeper-api-key', secret: 'authorization', tenant: 'x-tollkeeper-tenant', agent: 'x-tollkeeper-agent', user: 'x-tollkeeper-user' };
const GW = { 'x-tollkeeper-gateway-token': 'gw' };

function rig(nginxMode = false) {
  const mirror = createGatewayMirror();
  const now = 1_000_000;
  mirror.apply({ t: 'current', at: now });
  const list = new RevocationList();
  list.addCause('api_key', 'k-bad', { action: 'revoke', reason: 'leaked ± 3× usual', source: 'manual', ref: 'm1', created_at: '2026-12-03T00:00:00.000Z' });
  mirror.apply({ t: 'list', state: list.state(), at: now });
  const forwardAuth = createForwardAuth({ enforcement: mirror, remaining: mirror, currentAt: mirror.currentAt, now: () => now, maxStalenessMs: 30_000, failMode: 'open' });
  return createAuthorizeAnswerer({ forwardAuth, headers: HEADERS, nginxMode, hashSecret: (s) => `h:${s}` });
}

describe('forward-auth identity headers', () => {
  it('refuses a header joined from two (400, or 403 for NGINX) and names it', () => {
    for (const [nginx, status] of [[false, 400], [true, 403]] as const) {
      const a = rig(nginx)({ ...GW, 'x-tollkeeper-api-key': 'k-ok, k-bad' });
      expect(a.status).toBe(status);
      expect(JSON.parse(a.body)).toMatchObject({ error: 'ambiguous_identity' });
      expect(a.headers['x-tollkeeper-reason']).toContain('x-tollkeeper-api-key');
    }
  });

  it('refuses a repeated Authorization that carries the client secret, seen in the raw header list', () => {
    const answer = rig();
    const raw = ['x-tollkeeper-gateway-token', 'gw', 'Authorization', 'Bearer sk-good', 'authorization', 'Bearer sk-leaked'];
    expect(answer({ ...GW, authorization: 'Bearer sk-good' }, raw).status).toBe(400);
    // One Authorization is fine; so is a repeated one when it carries the gateway's own token (not an identity).
    expect(answer({ ...GW, authorization: 'Bearer sk-good' }, raw.slice(0, 4)).status).toBe(200);
    expect(answer({ authorization: 'Bearer gw' }, ['Authorization', 'Bearer gw', 'authorization', 'Bearer gw']).status).toBe(200);
  });

  it('still judges a single value as before', () => {
    const answer = rig();
    expect(answer({ ...GW, 'x-tollkeeper-api-key': 'k-bad' }).status).toBe(403);
    expect(answer({ ...GW, 'x-tollkeeper-api-key': 'k-ok' }).status).toBe(200);
  });
});

describe('the reason header', () => {
  it('percent-encodes what is not visible ASCII, and % itself, so the text can be read back', () => {
    for (const text of ['revoke: leaked ± 3× usual', '100% of budget', 'ctrl\r\nx-evil: 1', 'lone \uD800 surrogate', 'plain ascii']) {
      const h = headerSafe(text);
      expect(h).toMatch(/^[\x20-\x7e]*$/);
      expect(decodeURIComponent(h)).toBe(text.replace('\uD800', '\uFFFD'));
    }
    expect(headerSafe('é'.repeat(400)).length).toBeLessThanOrEqual(512);
    expect(headerSafe('é'.repeat(400))).toMatch(/(%[0-9A-F]{2})+$/);
  });

  it('carries a revoked entry reason with its non-ASCII characters readable', () => {
    const a = rig()({ ...GW, 'x-tollkeeper-api-key': 'k-bad' });
    expect(decodeURIComponent(a.headers['x-tollkeeper-reason']!)).toContain('leaked ± 3× usual');
  });
});
