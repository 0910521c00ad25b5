import { describe, expect, it } from 'vitest';
import { keyedDigest, tokenDigest } from '../../core/ingest/token-hash.ts';
import { IngestTokenSet } from '../../core/ingest/tokens.ts';
import { createIngestTokenService, definedTokens } from '../../detector/ingest-tokens.ts';
import { createMemoryIngestTokenRepo } from '../../store/ingest-token-repo.ts';

function service() {
  const repo = createMemoryIngestTokenRepo();
  const set = new IngestTokenSet((d) => keyedDigest('k', d));
  let n = 0;
  const svc = createIngestTokenService({
    repo,
    set,
    defined: definedTokens('otlp-token-0123456789', [{ name: 'from-config', token_hash: 'AB'.repeat(32), services: ['svc'] }]),
    now: () => Date.UTC(2026, 11, 3, 11, 0, 0),
    newSecret: () => `tki_secret_${++n}`,
  });
  return { repo, set, svc };
}

describe('ingest token service', () => {
  it('config tokens and auth.otlp_token are known from the start, read-only through the API', async () => {
    const { set, svc } = service();
    await svc.load();
    expect(svc.list().map((t) => [t.name, t.source, t.scope])).toEqual([['otlp_token', 'otlp_token', {}], ['from-config', 'config', { services: ['svc'] }]]);
    expect(set.lookup('ab'.repeat(32))).toMatchObject({ ok: true, token: { name: 'from-config' } });
    expect(await svc.create({ name: 'from-config' }, 'api')).toMatchObject({ ok: false, code: 'conflict' });
    expect(await svc.revoke('otlp_token', 'api')).toMatchObject({ ok: false, code: 'conflict' });
  });

  it('create, revoke and create again: versions, the set follows, the secret is kept only as its digest', async () => {
    const { repo, set, svc } = service();
    await svc.load();
    const created = await svc.create({ name: 'batch', tenants: ['acme'] }, 'api');
    if (!created.ok) throw new Error(created.errors.join());
    expect(created.value.token).toBe('tki_secret_1');
    expect(repo.changes.map((c) => [c.name, c.version, c.digest, c.revoked])).toEqual([['batch', 1, tokenDigest('tki_secret_1'), false]]);
    expect(set.lookup(tokenDigest('tki_secret_1'))).toMatchObject({ ok: true, token: { name: 'batch', source: 'api' } });
    expect((await svc.revoke('batch', 'api')).ok).toBe(true);
    expect(set.lookup(tokenDigest('tki_secret_1'))).toEqual({ ok: false, reason: 'revoked', name: 'batch' });
    expect(await svc.revoke('batch', 'api')).toMatchObject({ ok: false, code: 'not_found' });
    const again = await svc.create({ name: 'batch' }, 'api');
    expect(again.ok && [again.value.view.version, again.value.token]).toEqual([3, 'tki_secret_2']);
    expect(set.lookup(tokenDigest('tki_secret_2')).ok).toBe(true);
    expect(svc.list().find((t) => t.name === 'batch')).toMatchObject({ state: 'active', version: 3, scope: {} });
  });

  it('two creates of one name at once: one wins, the other is a conflict', async () => {
    const { repo, svc } = service();
    await svc.load();
    const results = await Promise.all([svc.create({ name: 'twice' }, 'api'), svc.create({ name: 'twice' }, 'api')]);
    expect(results.map((r) => r.ok).sort()).toEqual([false, true]);
    expect(repo.changes).toHaveLength(1);
  });
});
