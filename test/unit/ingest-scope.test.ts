import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config/load.ts';
import { isLoopbackHost } from '../../core/ingest/loopback.ts';
import { compileScope, scopeMessage, scopeVerdict, type CompiledScope } from '../../core/ingest/scope.ts';
import { keyedDigest, tokenDigest } from '../../core/ingest/token-hash.ts';
import { IngestTokenSet, type StoredToken } from '../../core/ingest/tokens.ts';
import { createCallDeduper } from '../../core/usage/call-dedupe.ts';
import { mapSpan } from '../../core/usage/map-span.ts';
import { eventOf as event, span, TEST_MAPPING as mapping } from '../helpers/spans.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 5);

const chat = (attrs: Record<string, string | number>, o: Parameters<typeof span>[1] = {}) =>
  span({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 10, ...attrs }, o);

describe('ingest scope decision', () => {
  const scope = compileScope({ tenants: ['acme'], services: ['chat-api', 'batch'] }) as CompiledScope;

  it('an unscoped token needs no check', () => {
    expect(compileScope({})).toBeNull();
  });

  it('admits ids inside every list and names the first kind outside', () => {
    expect(scopeVerdict(scope, { tenant: 'acme', apiKey: 'k-anything', service: 'batch' })).toBeNull();
    expect(scopeVerdict(scope, { tenant: 'globex', apiKey: 'k-1', service: 'batch' })).toBe('out_of_scope_tenant');
    expect(scopeVerdict(scope, { tenant: 'acme', apiKey: 'k-1', service: 'billing' })).toBe('out_of_scope_service');
    const keys = compileScope({ apiKeys: ['k-1'] }) as CompiledScope;
    expect(scopeVerdict(keys, { tenant: 'x', apiKey: 'k-2', service: 's' })).toBe('out_of_scope_api_key');
  });

  it('a missing id is outside a list that limits its kind (leaving the tenant out must not reach other tenants)', () => {
    expect(scopeVerdict(scope, { tenant: '', apiKey: 'k-1', service: 'batch' })).toBe('out_of_scope_tenant');
  });

  it('the message names the span, the value, the token and what it may report for', () => {
    const m = scopeMessage('00000000000000ab', 'svc-a', 'out_of_scope_tenant', { tenant: 'globex', apiKey: '', service: 'batch' }, scope);
    expect(m).toBe('span 00000000000000ab: tenant "globex" is outside the scope of ingest token "svc-a" (tenant must be one of "acme")');
    expect(scopeMessage('ab', 'svc-a', 'out_of_scope_tenant', { tenant: '', apiKey: '', service: '' }, scope)).toContain('tenant (none)');
  });
});

describe('one-call dedupe with a scope check', () => {
  const admitAcme = (e: { tenant: string }) => (e.tenant === 'acme' ? null : 'out_of_scope_tenant');

  it('judges the ids a span inherits from its ancestors, and keeps refused spans out of the trace memory', () => {
    const dedupe = createCallDeduper();
    const traceId = 'a'.repeat(32);
    const agent = span({ 'gen_ai.operation.name': 'invoke_agent', 'tenant.id': 'globex' }, { traceId, spanId: '1'.repeat(16) });
    const call = chat({}, { traceId, spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16) });
    const events = [agent, call].map((s) => mapSpan(s, mapping, NOW)).filter((r) => r.kind === 'event').map(event);
    const refused = dedupe.select(events, [agent, call], undefined, admitAcme);
    // The call has no tenant of its own: it inherits globex from its agent span, outside the scope.
    expect(refused.refused.map((r) => [r.event.spanId, r.event.tenant, r.reason])).toContainEqual(['2'.repeat(16), 'globex', 'out_of_scope_tenant']);
    expect(refused.counted).toEqual([]);
    // The same span ids, later reported by a token that may report them, are new to the deduper: stored once.
    const again = dedupe.select(events, [agent, call]);
    expect(again.counted.map((r) => r.event.spanId)).toEqual(['2'.repeat(16)]);
  });

  it('a retry of a stored span is judged on the stored ids: another token cannot have it acknowledged as its own', () => {
    const dedupe = createCallDeduper();
    const s = chat({ 'tenant.id': 'globex' });
    const e = event(mapSpan(s, mapping, NOW));
    expect(dedupe.select([e], [s]).counted).toHaveLength(1);
    const retry = dedupe.select([event(mapSpan(s, mapping, NOW))], [s], undefined, admitAcme);
    expect(retry.counted).toEqual([]);
    expect(retry.refused).toHaveLength(1);
  });

  it('in-scope spans beside refused ones are counted', () => {
    const dedupe = createCallDeduper();
    const spans = [chat({ 'tenant.id': 'acme' }), chat({ 'tenant.id': 'globex' }), chat({ 'tenant.id': 'acme' })];
    const r = dedupe.select(spans.map((s) => event(mapSpan(s, mapping, NOW))), spans, undefined, admitAcme);
    expect(r.counted.map((c) => c.event.tenant)).toEqual(['acme', 'acme']);
    expect(r.refused.map((c) => c.event.tenant)).toEqual(['globex']);
  });
});

describe('ingest token set', () => {
  const set = new IngestTokenSet((d) => keyedDigest('process-key', d));
  const stored = (name: string, secret: string, revoked: boolean, scope = {}): StoredToken => ({ name, version: 1, digest: tokenDigest(secret), scope, revoked, changedAt: NOW });

  it('needs no token until one is defined', () => {
    expect(set.required).toBe(false);
    expect(set.lookup(undefined)).toEqual({ ok: false, reason: 'missing' });
  });

  it('finds tokens by digest, tells revoked from unknown, and stays required when every token is revoked', () => {
    set.replace([{ name: 'cfg', source: 'config', digest: tokenDigest('config-secret-0123456789'), scope: { tenants: ['acme'] } }], [stored('api-a', 'tki_a', false), stored('api-b', 'tki_b', true)]);
    const cfg = set.lookup(tokenDigest('config-secret-0123456789'));
    expect(cfg.ok && cfg.token.name).toBe('cfg');
    expect(cfg.ok && cfg.token.compiled?.tenants?.has('acme')).toBe(true);
    const a = set.lookup(tokenDigest('tki_a'));
    expect(a.ok && [a.token.source, a.token.compiled]).toEqual(['api', null]);
    expect(set.lookup(tokenDigest('tki_b'))).toEqual({ ok: false, reason: 'revoked', name: 'api-b' });
    expect(set.lookup(tokenDigest('tki_nobody'))).toEqual({ ok: false, reason: 'unknown' });
    set.replace([], [stored('api-a', 'tki_a', true)]);
    expect(set.required).toBe(true);
    expect(set.lookup(tokenDigest('tki_a'))).toMatchObject({ ok: false, reason: 'revoked' });
  });
});

describe('loopback addresses', () => {
  it.each(['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])('%s is loopback', (h) => {
    expect(isLoopbackHost(h)).toBe(true);
  });
  it.each(['0.0.0.0', '::', '10.0.0.5', '128.0.0.1', '127.0.0.256', 'example.internal', '::2', '1::1', '::ffff:10.0.0.1', '', '1:2:3:4:5:6:7:8::1'])('%s is not', (h) => {
    expect(isLoopbackHost(h)).toBe(false);
  });
});

describe('ingest tokens in the config file', () => {
  const load = (yaml: string, env: Record<string, string> = {}) => loadConfig({ source: 't.yaml', fileText: yaml, env, flags: {} });

  it('takes a token as such, as its SHA-256, or from an environment variable, with optional scopes', () => {
    const r = load(
      'ingest:\n  tokens:\n    - { name: a, token: "aaaaaaaaaaaaaaaaaaaa", tenants: [acme] }\n    - { name: b, token_hash: "' + 'AB'.repeat(32) + '" }\n    - { name: c, token_env: SVC_C_TOKEN, services: [c] }\n',
      { SVC_C_TOKEN: 'from-the-environment-0123' },
    );
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.config.ingest.tokens.map((t) => [t.name, t.token ?? t.token_hash])).toEqual([['a', 'aaaaaaaaaaaaaaaaaaaa'], ['b', 'AB'.repeat(32)], ['c', 'from-the-environment-0123']]);
    expect(r.config.ingest.insecure).toBe(false);
  });

  it('refuses two secrets, none, a duplicate or reserved name, and an unset variable, naming the path', () => {
    const r = load('ingest:\n  tokens:\n    - { name: a, token: "aaaaaaaaaaaaaaaaaaaa", token_hash: "' + 'a'.repeat(64) + '" }\n    - { name: a }\n    - { name: otlp_token, token_env: NOPE }\n');
    expect(r.ok).toBe(false);
    const errors = r.ok ? '' : r.errors.join('\n');
    expect(errors).toContain('ingest.tokens[0]: give exactly one of token, token_hash and token_env (got token, token_hash)');
    expect(errors).toContain('ingest.tokens[1]: give exactly one of token, token_hash and token_env (got none)');
    expect(errors).toContain('ingest.tokens[1].name: "a" is used by an earlier token');
    expect(errors).toContain('ingest.tokens[2].name: "otlp_token" is the name of auth.otlp_token');
    expect(errors).toContain('ingest.tokens[2].token_env: environment variable NOPE is not set');
    expect(errors).not.toContain('aaaaaaaaaaaaaaaaaaaa');
  });

  it('--insecure-ingest and TOLLKEEPER_OTLP_TOKEN set their keys', () => {
    const r = loadConfig({ source: '(defaults)', env: { TOLLKEEPER_OTLP_TOKEN: 'otlp-token-from-env-0123' }, flags: { insecureIngest: true } });
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect([r.config.ingest.insecure, r.config.auth.otlp_token]).toEqual([true, 'otlp-token-from-env-0123']);
  });
});
