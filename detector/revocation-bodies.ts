import type { GatewayMirror } from './gateway-mirror.ts';

const MAX_DELTAS = 256;

/**
 * Serialized revocation-list answers, built once per list version and shared by every gateway that asks for the
 * same thing: the full list, and the delta from each `since` seen. A thousand pollers woken by one change cost
 * one JSON.stringify, not a thousand. `generated_at` is when the list reached its version (so every copy of the
 * list, fed the same changes, builds the same bytes).
 */
export function createRevocationBodies(list: Pick<GatewayMirror, 'version' | 'versionAt' | 'snapshot' | 'delta'>) {
  let version = -1;
  let full: Buffer | undefined;
  let fullSince: Buffer | undefined;
  const deltas = new Map<number, Buffer>();

  function sync(): void {
    if (list.version === version) return;
    version = list.version;
    full = undefined;
    fullSince = undefined;
    deltas.clear();
  }

  const generatedAt = () => new Date(list.versionAt).toISOString();

  return {
    /** `{ version, generated_at, entries }` */
    full(): Buffer {
      sync();
      full ??= Buffer.from(JSON.stringify({ version, generated_at: generatedAt(), entries: list.snapshot().entries }));
      return full;
    },
    /** `{ version, generated_at, added, removed, full: false }`, or the full list with `full: true` when `since` is too old. */
    since(since: number): Buffer {
      sync();
      const cached = deltas.get(since);
      if (cached) return cached;
      const delta = list.delta(since);
      let body: Buffer;
      if (delta) {
        body = Buffer.from(JSON.stringify({ version, generated_at: generatedAt(), added: delta.added, removed: delta.removed, full: false }));
        if (deltas.size >= MAX_DELTAS) deltas.delete(deltas.keys().next().value!);
        deltas.set(since, body);
      } else {
        fullSince ??= Buffer.from(JSON.stringify({ version, generated_at: generatedAt(), entries: list.snapshot().entries, full: true }));
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
