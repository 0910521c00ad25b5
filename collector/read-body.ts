import type { Readable } from 'node:stream';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import type { BodyShare } from './body-budget.ts';

export type RawBody =
  | { ok: true; bytes: Buffer }
  | { ok: false; status: 400 | 413 | 415; message: string }
  /** `bounded`: the rest of the body is at most its declared Content-Length, so it may be read and dropped on a kept connection. */
  | { ok: false; status: 429; message: string; retryAfterSeconds: number; bounded: boolean };

/** Answer to a body refused because the bodies held at once are at their budget (the client retries). */
export const BUSY = { ok: false, status: 429, message: 'collector busy: too much data in flight; retry later', retryAfterSeconds: 1, bounded: false } as const satisfies RawBody;

function encodingOf(header: string | undefined): 'identity' | 'gzip' | 'deflate' | null {
  const enc = (header ?? 'identity').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return 'identity';
  if (enc === 'gzip' || enc === 'x-gzip') return 'gzip';
  return enc === 'deflate' ? 'deflate' : null;
}

/**
 * Reads a request body and undoes its Content-Encoding as it streams in, with both the received and the inflated
 * size bounded by `limit` (so a gzip bomb costs at most `limit` bytes). A refusal resolves as soon as it is known
 * (from Content-Length, an unknown encoding, or the limit passed), without waiting for the rest of the body: the
 * caller answers at once and drains what is still coming (see answer-early.ts).
 *
 * With a `share`, every buffered (inflated) chunk is counted against the collector's budget of bodies held at
 * once: the first chunk that would pass it refuses the body with 429. The share is released on every refusal;
 * after a body is read it stays held until the caller releases it.
 */
export function readBody(stream: Readable, encodingHeader: string | undefined, limit: number, declaredLength?: number, share?: BodyShare): Promise<RawBody> {
  const enc = encodingOf(encodingHeader);
  if (enc === null) {
    share?.release();
    return Promise.resolve({ ok: false, status: 415, message: `unsupported Content-Encoding ${JSON.stringify(encodingHeader?.trim().toLowerCase())}; use gzip or none` });
  }
  const tooLarge = { ok: false as const, status: 413 as const, message: `request body exceeds the ${limit}-byte limit` };
  if (declaredLength !== undefined && declaredLength > limit) {
    share?.release();
    return Promise.resolve(tooLarge);
  }
  const busy: RawBody = { ...BUSY, bounded: declaredLength !== undefined };
  return new Promise<RawBody>((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let size = 0;
    let settled = false;
    let zlib: Gunzip | Inflate | undefined;
    const finish = (r: RawBody) => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      if (!r.ok) {
        zlib?.destroy();
        // Dropped now, not when the request object goes: a refused body must not hold memory while it drains.
        chunks.length = 0;
        share?.release();
      }
      resolve(r);
    };
    const whole = () => (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    if (enc !== 'identity') {
      zlib = enc === 'deflate' ? createInflate() : createGunzip();
      zlib.on('data', (out: Buffer) => {
        size += out.length;
        if (size > limit) finish({ ok: false, status: 413, message: `request body inflates past the ${limit}-byte limit` });
        else if (share && !share.take(out.length)) finish(busy);
        else chunks.push(out);
      });
      zlib.on('end', () => finish({ ok: true, bytes: whole() }));
      zlib.on('error', (err) => finish({ ok: false, status: 400, message: `body is not valid ${enc}: ${err.message}` }));
    }
    function onData(chunk: Buffer): void {
      received += chunk.length;
      if (received > limit) return finish(tooLarge);
      if (!zlib) {
        if (share && !share.take(chunk.length)) return finish(busy);
        size += chunk.length;
        chunks.push(chunk);
      } else if (!zlib.write(chunk)) {
        stream.pause();
        zlib.once('drain', () => {
          if (!settled) stream.resume();
        });
      }
    }
    function onEnd(): void {
      if (zlib) zlib.end();
      else finish({ ok: true, bytes: whole() });
    }
    function onError(err: Error): void {
      finish({ ok: false, status: 400, message: `request body could not be read: ${err.message}` });
    }
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}
