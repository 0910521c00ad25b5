import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertIngestGuarded, InsecureIngestError } from '../../app/ingest-guard.ts';
import { cli } from '../helpers/cli.ts';

// A collector reachable from the network without ingest tokens lets anyone get any key revoked: the real CLI refuses
// to start it, in one message that says why and how to fix it. The refusal comes before anything listens, so these
// runs never open a port beyond loopback.

describe('refusing to expose ingest without a token', () => {
  it.each([['0.0.0.0'], ['::']])('start --host %s without a token exits 2 with the reason and the fixes', async (host) => {
    const data = mkdtempSync(join(tmpdir(), 'tk-guard-'));
    const r = await cli(['start', '--host', host, '--otlp-port', '0', '--api-port', '0', '--data', data]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`tollkeeper: refusing to start: the collector would listen on ${host}:0 and accept usage from anyone who reaches it, without a token`);
    for (const fix of ['ingest.tokens', 'TOLLKEEPER_OTLP_TOKEN', '--host 127.0.0.1', '--insecure-ingest']) expect(r.stderr).toContain(fix);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).not.toContain('OTLP/HTTP traces');
  });

  it('--insecure-ingest and ingest.insecure are accepted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tk-guard-'));
    const file = join(dir, 'tk.yaml');
    writeFileSync(file, 'ingest: { insecure: true }\n');
    const r = await cli(['check-config', '--config', file, '--insecure-ingest']);
    expect([r.code, r.stdout.split('\n')[0]]).toEqual([0, `${file}: ok (0 policies)`]);
  });

  it('what lets a collector start beyond loopback: a token, or the operator saying so', () => {
    const exposed = { host: '0.0.0.0', port: 4318 };
    expect(() => assertIngestGuarded({ ...exposed, tokenRequired: false, insecure: false })).toThrow(InsecureIngestError);
    expect(() => assertIngestGuarded({ ...exposed, tokenRequired: true, insecure: false })).not.toThrow();
    expect(() => assertIngestGuarded({ ...exposed, tokenRequired: false, insecure: true })).not.toThrow();
    for (const host of ['127.0.0.1', 'localhost', '::1']) expect(() => assertIngestGuarded({ host, port: 4318, tokenRequired: false, insecure: false })).not.toThrow();
  });
});
