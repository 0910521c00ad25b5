import type protobuf from 'protobufjs';

// Protobuf wire-format helpers over protobufjs's Reader, for decode-protobuf.ts.

export type Reader = protobuf.Reader;

// Wire types (protobuf encoding spec).
export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;

/** End offset of the length-delimited field at the reader's position, checked against the whole body. */
export function sub(r: Reader): number {
  const length = r.uint32();
  const end = r.pos + length;
  if (end > r.len) throw new RangeError(`index out of range: ${r.pos} + ${length} > ${r.len}`);
  return end;
}

/** Loops over the fields of the message ending at `end`; `field` returns false for a field it does not take. */
export function fields(r: Reader, end: number, field: (num: number, wire: number) => boolean): void {
  while (r.pos < end) {
    const tag = r.uint32();
    const wire = tag & 7;
    if (!field(tag >>> 3, wire)) r.skipType(wire);
  }
  ended(r, end);
}

/** A message's last field must end exactly at the message's end. */
export function ended(r: Reader, end: number): void {
  if (r.pos > end) throw new RangeError(`index out of range: a field runs past the end of its message (${r.pos} > ${end})`);
}
