// Byte-level damage for fuzzing OTLP bodies: bytes set, inserted or deleted at random places, then maybe a cut.
import fc from 'fast-check';

export interface ByteEdit {
  op: string;
  pos: number;
  byte: number;
}

/** One edit: set, insert or delete the byte at a position (taken modulo the body's length). */
export const byteEdit: fc.Arbitrary<ByteEdit> = fc.record({ op: fc.constantFrom('set', 'insert', 'delete'), pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) });

/** `body` with the edits applied in order, then cut to `cut` modulo its length + 1 (null: not cut). */
export function mutate(body: Uint8Array, edits: readonly ByteEdit[], cut: number | null): Uint8Array {
  const bytes = Array.from(body);
  for (const { op, pos, byte } of edits) {
    const at = bytes.length === 0 ? 0 : pos % bytes.length;
    if (op === 'set') bytes[at] = byte;
    else if (op === 'insert') bytes.splice(at, 0, byte);
    else bytes.splice(at, 1);
  }
  const out = Uint8Array.from(bytes);
  return cut === null ? out : out.subarray(0, cut % (out.length + 1));
}
