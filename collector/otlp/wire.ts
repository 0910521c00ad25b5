import protobuf from 'protobufjs';

// Protobuf wire-format reading for the OTLP decoders: protobufjs's Reader with the wire format's rules enforced
// where protobufjs is lenient, as Go's protowire and protoc's parser enforce them. A body that breaks one is
// refused whole (400), never read as something else: protobufjs alone skips a varint of any length, keeps only the
// low 32 bits of a length or a tag, skips a field numbered 0, ends a group at any end-group, and cuts a string
// short at the end of the body.

// Wire types (protobuf encoding spec).
export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const START_GROUP = 3;
export const END_GROUP = 4;
export const FIXED32 = 5;

/** Groups nested inside each other that a skip follows, as protoc's default recursion limit. */
export const MAX_GROUP_DEPTH = 100;

/** A body that breaks the wire format: the request is refused (400) with this message. */
export class WireError extends Error {}

/**
 * Node's Buffer method behind `toString('utf8', start, end)`, without its argument checks: the hot path's strings
 * (protobufjs reads them with it too). Its bounds are checked here.
 */
type NodeBuffer = Buffer & { utf8Slice(start: number, end: number): string };

/** End of the body: a read that would pass it is refused with the same words protobufjs uses. */
const outOfRange = (what: string) => new WireError(`index out of range: ${what}`);

/** protobufjs's reader for Node buffers, strict about the wire format (see the top of this file). */
export class Reader extends protobuf.BufferReader {
  /** High 32 bits of the last varint `varint64` read. */
  high = 0;

  static of(body: Uint8Array): Reader {
    // A Buffer view (no copy) makes protobufjs use its faster Buffer reader.
    return new Reader(Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  }

  /**
   * A varint of at most 10 bytes whose 10th byte holds only bit 63: returns its low 32 bits (unsigned) and leaves
   * the high 32 in `high`.
   */
  varint64(): number {
    const buf = this.buf;
    const at = this.pos;
    let pos = at;
    let low = 0;
    let high = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= this.len) throw outOfRange(`the varint at byte ${at} is cut off by the end of the body`);
      const b = buf[pos++]!;
      if (i < 4) low |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        low |= (b & 0x0f) << 28;
        high = (b & 0x7f) >>> 4;
      } else if (i < 9) high |= (b & 0x7f) << (7 * i - 32);
      else if (b >= 0x80) throw new WireError(`varint at byte ${at} is longer than 10 bytes`);
      else if (b > 1) throw new WireError(`varint at byte ${at} does not fit in 64 bits`);
      else high |= b << 31;
      if (b < 0x80) {
        this.pos = pos;
        this.high = high >>> 0;
        return low >>> 0;
      }
    }
    // Unreachable: the 10th byte returned or threw.
    throw new WireError(`varint at byte ${at} is longer than 10 bytes`);
  }

  /** A varint read as protobuf reads int32, uint32, enum and bool: its low 32 bits (strict about its form). */
  override uint32(): number {
    const pos = this.pos;
    if (pos < this.len) {
      const b = this.buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    return this.varint64();
  }

  /** A varint that must fit in 32 bits (a tag or a length), or -1 when it does not. Hot: one- and two-byte ones inline. */
  private varint32(): number {
    const buf = this.buf;
    const pos = this.pos;
    if (pos + 1 < this.len) {
      const b0 = buf[pos]!;
      if (b0 < 0x80) {
        this.pos = pos + 1;
        return b0;
      }
      const b1 = buf[pos + 1]!;
      if (b1 < 0x80) {
        this.pos = pos + 2;
        return (b0 & 0x7f) | (b1 << 7);
      }
    }
    const low = this.varint64();
    return this.high === 0 ? low : -1;
  }

  /** A field's tag: field number 1 or more, wire type 0, 1, 2, 3 or 5 (an end-group only closes a group being skipped). */
  tag(): number {
    const at = this.pos;
    const tag = this.varint32();
    // Wire types 0, 1, 2, 3 and 5 are bits 0-3 and 5 of 0x2f; a field number of 0 is a tag under 8.
    if (tag >= 8 && (0x2f >> (tag & 7)) & 1) return tag;
    return this.badTag(tag, at);
  }

  private badTag(tag: number, at: number): never {
    if (tag < 0) throw new WireError(`tag at byte ${at} does not fit in 32 bits`);
    if (tag < 8) throw new WireError(`field number 0 at byte ${at} (field numbers start at 1)`);
    if ((tag & 7) === END_GROUP) throw new WireError(`end-group for field ${tag >>> 3} at byte ${at} without a group started`);
    throw new WireError(`invalid wire type ${tag & 7} at byte ${at}`);
  }

  /** A tag inside a group being skipped: as `tag`, an end-group included (wire types 0 to 5 are bits 0-5 of 0x3f). */
  private groupTag(): number {
    const at = this.pos;
    const tag = this.varint32();
    if (tag >= 8 && (0x3f >> (tag & 7)) & 1) return tag;
    return this.badTag(tag, at);
  }

  /** The length of a length-delimited field, which must end within the body. */
  length(): number {
    const at = this.pos;
    const length = this.varint32();
    if (length >= 0 && length <= this.len - this.pos) return length;
    if (length < 0) throw outOfRange(`the length at byte ${at} does not fit in 32 bits`);
    throw outOfRange(`${this.pos} + ${length} > ${this.len} (the length at byte ${at} runs past the end of the body)`);
  }

  override bytes(): Buffer {
    const length = this.length();
    const start = this.pos;
    this.pos += length;
    return (this.buf as Buffer).subarray(start, this.pos);
  }

  /** A string, read whole (protobufjs's Buffer reader would cut it at the end of the body). */
  override string(): string {
    const length = this.length();
    const start = this.pos;
    this.pos += length;
    return (this.buf as NodeBuffer).utf8Slice(start, this.pos);
  }

  /** Skips `length` bytes, or a varint (strict about its form). */
  override skip(length?: number): this {
    if (length === undefined) this.varint64();
    else if (length > this.len - this.pos) throw outOfRange(`${this.pos} + ${length} > ${this.len}`);
    else this.pos += length;
    return this;
  }

  /** Skips the value of the field whose tag was just read; a group up to its own end-group. */
  skipField(tag: number, depth = 0): void {
    const wire = tag & 7;
    if (wire === VARINT) this.varint64();
    else if (wire === FIXED64) this.skip(8);
    else if (wire === LEN) this.skip(this.length());
    else if (wire === FIXED32) this.skip(4);
    else if (wire === START_GROUP) this.skipGroup(tag >>> 3, depth);
    else throw new WireError(`invalid wire type ${wire} before byte ${this.pos}`);
  }

  private skipGroup(field: number, depth: number): void {
    if (depth >= MAX_GROUP_DEPTH) throw new WireError(`groups nested deeper than ${MAX_GROUP_DEPTH} levels before byte ${this.pos}`);
    // Each pass reads at least one byte, and reading past the body throws: the loop ends.
    for (;;) {
      const at = this.pos;
      const tag = this.groupTag();
      if ((tag & 7) !== END_GROUP) this.skipField(tag, depth + 1);
      else if (tag >>> 3 === field) return;
      else throw new WireError(`group of field ${field} closed by the end-group of field ${tag >>> 3} at byte ${at}`);
    }
  }
}

/** End offset of the length-delimited field at the reader's position (checked against the body). */
export function sub(r: Reader): number {
  const length = r.length();
  return r.pos + length;
}

/** Loops over the fields of the message ending at `end`; `field` returns false for a field it does not take. */
export function fields(r: Reader, end: number, field: (num: number, wire: number) => boolean): void {
  while (r.pos < end) {
    const tag = r.tag();
    if (!field(tag >>> 3, tag & 7)) r.skipField(tag);
  }
  ended(r, end);
}

/** A message's last field must end exactly at the message's end. */
export function ended(r: Reader, end: number): void {
  if (r.pos > end) throw new RangeError(`index out of range: a field runs past the end of its message (${r.pos} > ${end})`);
}
