import type { ClickHouse } from './port.ts';
import { chTime } from './time.ts';

export interface StoredAnswer {
  /** What identifies the request the key was first used with (its body, normalized). */
  fingerprint: string;
  /** The first answer, as JSON text. */
  response: string;
}

/** Idempotency-Key answers, kept until they expire (the caller's window). */
export function createIdempotencyRepo(ch: ClickHouse) {
  const table = ch.table('idempotency_keys');
  return {
    /** The answer stored for `key`, unless it expired by `now`. */
    async get(scope: string, key: string, now: number): Promise<StoredAnswer | undefined> {
      const rows = await ch.query<StoredAnswer>(
        `SELECT fingerprint, response FROM ${table} FINAL WHERE scope = {scope:String} AND key = {key:String} AND expires_at > {now:DateTime64(3)} LIMIT 1`,
        { scope, key, now: chTime(now) },
        { tag: 'idempotency.get' },
      );
      return rows[0];
    },
    async put(scope: string, key: string, answer: StoredAnswer, now: number, expiresAt: number): Promise<void> {
      await ch.insert('idempotency_keys', [{ scope, key, fingerprint: answer.fingerprint, response: answer.response, created_at: chTime(now), expires_at: chTime(expiresAt) }], { tag: 'idempotency.put' });
    },
  };
}
export type IdempotencyRepo = ReturnType<typeof createIdempotencyRepo>;
