// Protobuf bodies written byte by byte, to send what no encoder would: field 0, overlong varints, stray groups,
// lengths past the end, nesting 100,000 levels deep.

/** A varint of `n` (a negative number as its 64-bit two's complement, 10 bytes). */
export function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v === 0n ? b : b | 0x80);
  } while (v !== 0n);
  return out;
}

/** A tag: field number and wire type. */
export const tag = (field: number, wire: number): number[] => varint(BigInt(field) * 8n + BigInt(wire));

/** A length-delimited field holding `parts`, its length counted from them. */
export const len = (field: number, ...parts: number[][]): number[] => {
  const body = parts.flat();
  return [...tag(field, 2), ...varint(body.length), ...body];
};

export const str = (field: number, text: string): number[] => len(field, [...Buffer.from(text)]);

/** A fixed64 field (wire type 1) of `n`, little-endian. */
export const fixed64 = (field: number, n: bigint): number[] => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return [...tag(field, 1), ...b];
};

export const double = (field: number, n: number): number[] => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(n);
  return [...tag(field, 1), ...b];
};

export const bytes = (parts: number[]): Uint8Array => Uint8Array.from(parts);

/** `levels` AnyValues nested as kvlists (`{k: {k: … 'leaf'}}`), written inside out in one pass. */
export function deepKvlist(levels: number): Uint8Array {
  const leaf = str(1, 'leaf');
  // Each level: AnyValue { 6: KeyValueList { 1: KeyValue { 1: "k", 2: <inner AnyValue> } } }.
  const heads: number[][] = [];
  let inner = leaf.length;
  for (let i = 0; i < levels; i++) {
    const kv = 3 + 1 + varint(inner).length + inner;
    const list = 1 + varint(kv).length + kv;
    heads.push([...tag(6, 2), ...varint(list), ...tag(1, 2), ...varint(kv), ...str(1, 'k'), ...tag(2, 2), ...varint(inner)]);
    inner = 1 + varint(list).length + list;
  }
  const out = new Uint8Array(inner);
  let at = 0;
  for (let i = heads.length - 1; i >= 0; i--) {
    out.set(heads[i]!, at);
    at += heads[i]!.length;
  }
  out.set(leaf, at);
  return out;
}

/** A length-delimited field around a large payload, without spreading it into an array. */
export function lenAround(field: number, payload: Uint8Array): Uint8Array {
  return Buffer.concat([Uint8Array.from([...tag(field, 2), ...varint(payload.length)]), payload]);
}
