import { describe, expect, it } from 'vitest';
import { tokenRoles } from '../../api/gateway-token.ts';

// The token check both listeners use (constant-time comparison, no digest per request): each token its own role,
// and nothing near a token (a character short or more, another case, a NUL, a non-ASCII letter) any role.

const tokens = { admin: 'tka_admin-0123456789abcdef', gateway: 'tkg_gateway-0123456789abcdef', metrics: 'tkm_metrics-0123' };

describe('gateway token roles', () => {
  const presented: [string, string | null][] = [
    [tokens.admin, 'admin'],
    [tokens.gateway, 'gateway'],
    [tokens.metrics, 'metrics'],
    ['', null],
    ['tkg_gateway-0123456789abcde', null], // one character short
    ['tkg_gateway-0123456789abcdeff', null], // one character more
    ['tkg_gateway-0123456789abcdeF', null], // last character's case
    ['Tkg_gateway-0123456789abcdef', null], // first character's case
    ['tka_admin-0123456789abcdef\u0000', null],
    ['tkg_gateway-0123456789abcdéf', null],
    [tokens.admin + tokens.gateway, null],
  ];
  it.each(presented.map(([p, role]) => [JSON.stringify(p), p, role] as const))('%s → its role', (_name, p, role) => {
    expect(tokenRoles(tokens)(p)).toBe(role);
  });

  it('knows no gateway or metrics token when none is set (an empty one never matches)', () => {
    const roleOf = tokenRoles({ admin: tokens.admin });
    expect(roleOf(tokens.admin)).toBe('admin');
    expect(roleOf('')).toBeNull();
    expect(roleOf(tokens.gateway)).toBeNull();
  });
});
