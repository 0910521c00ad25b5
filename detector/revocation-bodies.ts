import type { Enforcement } from './enforcement.ts';

const MAX_DELTAS = 256;

/**
 * Serialized revocation-list answers, built once per list version and shared by every gateway that asks for the
 * same thing: the full list, and the delta from each `since` seen. A thousand pollers woken by one change cost
 * one JSON.stringify, not a thousand. `generated_at` is when the body was built.
 */
export function createRevocationBodies(enforcement: Enforcement, now: () => number) {
  let version = -1;
  let full: Buffer | undefined;
  let fullSince: Buffer | undefined;
  const deltas = new Map<number, Buffer>();

  function sync(): void {
    if (enforcement.version === version) return;
    version = enforcement.version;
    full = undefined;
    fullSince = undefined;
    deltas.clear();
  }

  const generatedAt = () => new Date(now()).toISOString();

  return {
    /** `{ version, generated_at, entries }` */
    full(): Buffer {
      sync();
      full ??= Buffer.from(JSON.stringify({ version, generated_at: generatedAt(), entries: enforcement.snapshot().entries }));
      return full;
    },
    /** `{ version, generated_at, added, removed, full: false }`, or the full list with `full: true` when `since` is too old. */
    since(since: number): Buffer {
      sync();
      const cached = deltas.get(since);
      if (cached) return cached;
      const delta = enforcement.delta(since);
      let body: Buffer;
      if (delta) {
        body = Buffer.from(JSON.stringify({ version, generated_at: generatedAt(), added: delta.added, removed: delta.removed, full: false }));
        if (deltas.size >= MAX_DELTAS) deltas.delete(deltas.keys().next().value!);
        deltas.set(since, body);
      } else {
        fullSince ??= Buffer.from(JSON.stringify({ version, generated_at: generatedAt(), entries: enforcement.snapshot().entries, full: true }));
        body = fullSince;
      }
      return body;
    },
    get version(): number {
      sync();
      return version;
    },
  };
}
