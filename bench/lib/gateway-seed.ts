import { RevocationList } from '../../core/enforcement/revocation-list.ts';
import { openBenchStore } from './app.ts';

/**
 * The gateway benchmark's revocation list, written to the store as the enforcement log holds it: `entries` api_key
 * revocations by a quota policy, every tenth a throttle (60 requests per minute) instead.
 */
export async function seedRevocations(tmpDir: string, database: string, entries: number): Promise<void> {
  const list = new RevocationList(entries + 10);
  const rows: object[] = [];
  const at = new Date().toISOString().replace('T', ' ').replace('Z', '');
  for (let i = 0; i < entries; i++) {
    const throttle = i % 10 === 0;
    const cause = {
      action: throttle ? ('throttle' as const) : ('revoke' as const),
      ...(throttle ? { limit: { requests_per_minute: 60 } } : {}),
      reason: `key k-${i} used $5.00 of $5.00 cost_usd (100%) under policy free-daily-cost`,
      source: 'quota' as const,
      ref: 'free-daily-cost',
      created_at: new Date().toISOString(),
      expires_at: new Date(Date.now() + 86_400_000).toISOString(),
    };
    const c = list.addCause('api_key', `k-${i}`, cause)!;
    rows.push({ version: c.version, at, op: c.op, kind: c.kind, id: c.id, entry: JSON.stringify(c.entry), actor: 'bench', source: 'quota', reason: cause.reason });
  }
  const store = await openBenchStore(tmpDir, database);
  await store.insert('enforcement_log', rows);
  await store.close();
}
