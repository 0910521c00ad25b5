import { describe, expect, it } from 'vitest';
import { createAuthorizeAnswerer, JSON_TYPE, type AuthorizeAnswer } from '../../api/authorize-answer.ts';
import { SECURITY_HEADERS } from '../../api/security-header-values.ts';
import { createForwardAuth } from '../../detector/forward-auth.ts';
import { createGatewayMirror } from '../../detector/gateway-mirror.ts';
import type { RemainingSnapshot } from '../../detector/quota-remaining.ts';
import { emptyUsage } from '../../core/quota/policy.ts';

// Allowed answers are made once and sent again (the gateway worker's hot path): they must stay the bytes a fresh
// answer would have, follow the remaining budget when it changes, and carry a flat header list that says the same.

const HEADERS = { api_key: 'x-tollkeeper-api-key', secret: 'authorization', tenant: 'x-tollkeeper-tenant', agent: 'x-tollkeeper-agent', user: 'x-tollkeeper-user' };

function rig(maxStalenessMs = 30_000) {
  const mirror = createGatewayMirror();
  let now = 1_000_000;
  mirror.apply({ t: 'current', at: now });
  const forwardAuth = createForwardAuth({ enforcement: mirror, remaining: mirror, currentAt: mirror.currentAt, now: () => now, maxStalenessMs, failMode: 'open' });
  const answer = createAuthorizeAnswerer({ forwardAuth, headers: HEADERS, nginxMode: false, hashSecret: (s) => `h:${s}` });
  return { mirror, answer, advance: (ms: number) => (now += ms) };
}

const keyPolicy = (used: number): RemainingSnapshot => [
  { scope: 'api_key', matched: false, endsAt: null, used: new Map([['k-1', { ...emptyUsage(), requests: used }]]), limits: { requests: 100, cost_usd: 5 }, overrides: new Map() },
];

/** The head list is the headers plus content-length, in the same order. */
/** The flat list the gateway listener sends: the security headers both ports send, then the answer's own. */
function headOf(a: AuthorizeAnswer): string[] {
  return [...Object.entries(SECURITY_HEADERS).flat(), ...Object.entries(a.headers).flat(), 'content-length', String(Buffer.byteLength(a.body))];
}

describe('forward-auth answers made once', () => {
  it('answers an allowed request without a quota with one shared answer', () => {
    const { answer } = rig();
    const a = answer({ 'x-tollkeeper-tenant': 't-1' });
    expect(a).toMatchObject({ status: 200, headers: { 'content-type': JSON_TYPE }, body: '{"decision":"allow","stale":false}' });
    expect(a.head).toEqual(headOf(a));
    expect(answer({ 'x-tollkeeper-tenant': 't-2' })).toBe(a);
    expect(Object.isFrozen(a.headers)).toBe(true);
  });

  it('sends the last answer again while the remaining budget is the same, and a new one when it moves', () => {
    const { mirror, answer } = rig();
    mirror.apply({ t: 'remaining', snapshot: keyPolicy(10) });
    const a = answer({ 'x-tollkeeper-api-key': 'k-1' });
    expect(a.headers).toEqual({ 'content-type': JSON_TYPE, 'x-tollkeeper-remaining-requests': '90', 'x-tollkeeper-remaining-cost-usd': '5' });
    expect(a.head).toEqual(headOf(a));
    expect(answer({ 'x-tollkeeper-api-key': 'k-1' })).toBe(a);
    // Another key under the same policy has its whole budget: different amounts, a different answer.
    expect(answer({ 'x-tollkeeper-api-key': 'k-2' }).headers['x-tollkeeper-remaining-requests']).toBe('100');
    mirror.apply({ t: 'remaining', snapshot: keyPolicy(40) });
    const b = answer({ 'x-tollkeeper-api-key': 'k-1' });
    expect(b.headers['x-tollkeeper-remaining-requests']).toBe('60');
    expect(b.head).toEqual(headOf(b));
  });

  it('builds stale and refused answers per request (their seconds and entities vary)', () => {
    const { mirror, answer, advance } = rig(1_000);
    mirror.apply({ t: 'changes', at: 0, changes: [{ version: 1, op: 'upsert', kind: 'tenant', id: 't-bad', entry: { kind: 'tenant', id: 't-bad', action: 'revoke', reason: 'card declined', source: 'manual', ref: 'manual', created_at: '2026-12-03T00:00:00.000Z', causes: [] } }] });
    const refused = answer({ 'x-tollkeeper-tenant': 't-bad' });
    expect(refused.status).toBe(403);
    expect(refused.head).toBeUndefined();
    advance(5_000);
    const stale = answer({ 'x-tollkeeper-tenant': 't-1' });
    expect(stale).toMatchObject({ status: 200, body: '{"decision":"allow","stale":true}', headers: { 'x-tollkeeper-stale': '5' } });
    expect(stale.head).toBeUndefined();
  });
});
