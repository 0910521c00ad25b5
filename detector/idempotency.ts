import type { IdempotencyRepo } from '../store/idempotency-repo.ts';

export type Idempotent<T> = { kind: 'fresh'; value: T } | { kind: 'replayed'; value: T } | { kind: 'conflict' };

/**
 * Runs an action at most once per Idempotency-Key within `windowMs`: the first answer is stored (in the store, so
 * it survives a restart) and answered again for the same key and request; the same key with another request is a
 * conflict. Requests with one key wait for each other in this process, so two at once act once. The answer is
 * stored after the action: a crash in between lets a retry act again (the actions are idempotent themselves).
 */
export function createIdempotency(o: { repo: IdempotencyRepo; scope: string; windowMs: number; now: () => number }) {
  const running = new Map<string, Promise<unknown>>();

  async function once<T>(key: string, fingerprint: string, act: () => Promise<T>, earlier: readonly string[]): Promise<Idempotent<T>> {
    const prior = await o.repo.get(o.scope, key, o.now());
    if (prior) return prior.fingerprint === fingerprint || earlier.includes(prior.fingerprint) ? { kind: 'replayed', value: JSON.parse(prior.response) as T } : { kind: 'conflict' };
    const value = await act();
    const now = o.now();
    await o.repo.put(o.scope, key, { fingerprint, response: JSON.stringify(value) }, now, now + o.windowMs);
    return { kind: 'fresh', value };
  }

  return {
    /** `earlier`: fingerprints an older release stored for the same request (a retry across an upgrade still replays). */
    async run<T>(key: string, fingerprint: string, act: () => Promise<T>, earlier: readonly string[] = []): Promise<Idempotent<T>> {
      while (running.has(key)) await running.get(key)!.catch(() => undefined);
      const p = once(key, fingerprint, act, earlier);
      running.set(key, p);
      try {
        return await p;
      } finally {
        if (running.get(key) === p) running.delete(key);
      }
    },
  };
}
export type Idempotency = ReturnType<typeof createIdempotency>;
