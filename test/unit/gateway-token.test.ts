import { describe, expect, it } from 'vitest';
import { roleOfToken } from '../../api/auth.ts';
import { tokenRoles } from '../../api/gateway-token.ts';

// The gateway listener's token check (constant-time comparison, no digest per request) gives the roles the API
// port's digest check gives, for the tokens themselves and for everything near them.

const tokens = { admin: 'tka_admin-0123456789abcdef', gateway: 'tkg_gateway-0123456789abcdef', metrics: 'tkm_metrics-0123' };

describe('gateway token roles', () => {
  const presented = [
    tokens.admin,
    tokens.gateway,
    tokens.metrics,
    '',
    'tkg_gateway-0123456789abcde', // one character short
    'tkg_gateway-0123456789abcdeff', // one character more
    'tkg_gateway-0123456789abcdeF', // last character's case
    'Tkg_gateway-0123456789abcdef', // first character's case
    'tka_admin-0123456789abcdef\u0000',
    'tkg_gateway-0123456789abcdéf',
    tokens.admin + tokens.gateway,
  ];
  it.each(presented.map((p) => [JSON.stringify(p), p]))('%s → the API port\'s role', (_name, p) => {
    expect(tokenRoles(tokens)(p)).toBe(roleOfToken(p, tokens));
  });

  it('knows no gateway or metrics token when none is set (an empty one never matches)', () => {
    const roleOf = tokenRoles({ admin: tokens.admin });
    expect(roleOf(tokens.admin)).toBe('admin');
    expect(roleOf('')).toBeNull();
    expect(roleOf(tokens.gateway)).toBeNull();
  });
});
