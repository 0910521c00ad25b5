import type { Readable } from 'node:stream';
import { gunzip, inflate } from 'node:zlib';
import { promisify } from 'node:util';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

export type RawBody = { ok: true; bytes: Buffer } | { ok: false; tooLarge: true; received: number };

/**
 * Reads a request body up to `limit` bytes. Past the limit the rest is read and dropped (up to `drainCap`),
 * so the client sees our 413 instead of a connection reset in the middle of its upload.
 */
export async function readLimited(stream: Readable, limit: number, drainCap: number): Promise<RawBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
    else if (size > drainCap) {
      stream.destroy();
      break;
    }
  }
  if (size > limit) return { ok: false, tooLarge: true, received: size };
  return { ok: true, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) };
}

export type Inflated = { ok: true; bytes: Buffer } | { ok: false; status: 400 | 413 | 415; message: string };

/** Undoes Content-Encoding with the inflated size bounded, so a gzip bomb costs us at most `limit` bytes. */
export async function decodeContentEncoding(bytes: Buffer, encoding: string | undefined, limit: number): Promise<Inflated> {
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return { ok: true, bytes };
  if (enc !== 'gzip' && enc !== 'x-gzip' && enc !== 'deflate') {
    return { ok: false, status: 415, message: `unsupported Content-Encoding ${JSON.stringify(enc)}; use gzip or none` };
  }
  try {
    const out = await (enc === 'deflate' ? inflateAsync : gunzipAsync)(bytes, { maxOutputLength: limit });
    return { ok: true, bytes: out };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      return { ok: false, status: 413, message: `request body inflates past the ${limit}-byte limit` };
    }
    return { ok: false, status: 400, message: `body is not valid ${enc}: ${(err as Error).message}` };
  }
}
