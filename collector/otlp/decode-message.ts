import protobuf from 'protobufjs';
import { int64, uint64 } from './decode-common.ts';
import { FIXED32, FIXED64, LEN, Reader, VARINT, WireError, ended, sub } from './wire.ts';

// A protobuf request decoded by its declared type (protobufjs reflection) with the strict wire reader, into the plain
// object OTLP/JSON carries for it: field names in camelCase, 64-bit integers as decimal strings, bytes as base64,
// enums as numbers, fields absent from the wire absent. protobufjs's own decoders read with its lenient reader and
// read a known field by its declared type whatever its wire type; here a field whose wire type does not match its
// declaration is skipped, as an unknown field is (proto3). For the metrics and logs requests, not a hot path.

/** Messages nested inside each other, as protoc's default recursion limit. */
export const MAX_MESSAGE_DEPTH = 100;

type Plain = Record<string, unknown>;

/** Wire type of each scalar type the OTLP messages here declare (enums are int32: varints). */
const WIRE_OF: Record<string, number> = {
  string: LEN,
  bytes: LEN,
  double: FIXED64,
  fixed64: FIXED64,
  float: FIXED32,
  fixed32: FIXED32,
  bool: VARINT,
  int32: VARINT,
  uint32: VARINT,
  int64: VARINT,
  uint64: VARINT,
};

/** The wire type a field is sent with; a type this reader does not know fails loudly (a schema change to handle). */
function wireOf(field: protobuf.Field): number {
  if (field.resolvedType instanceof protobuf.Type) return LEN;
  if (field.resolvedType instanceof protobuf.Enum) return VARINT;
  const wire = WIRE_OF[field.type];
  // Repeated scalars could come packed (one length-delimited field): OTLP declares none of them here.
  if (wire === undefined || field.repeated) throw new Error(`decode-message: field ${field.fullName} (${field.repeated ? 'repeated ' : ''}${field.type}) is not supported`);
  return wire;
}

/** Decodes `body` as `type`; throws a WireError (or RangeError) on a body that breaks the wire format. */
export function decodeMessage(type: protobuf.Type, body: Uint8Array): Plain {
  const r = Reader.of(body);
  return message(type, r, r.len, 1);
}

function message(type: protobuf.Type, r: Reader, end: number, depth: number): Plain {
  if (depth > MAX_MESSAGE_DEPTH) throw new WireError(`messages nested deeper than ${MAX_MESSAGE_DEPTH} levels at byte ${r.pos}`);
  const out: Plain = {};
  while (r.pos < end) {
    const tag = r.tag();
    const field = type.fieldsById[tag >>> 3];
    if (field === undefined || (tag & 7) !== wireOf(field)) {
      r.skipField(tag);
      continue;
    }
    const value = read(field, r, depth);
    if (field.repeated) ((out[field.name] ??= []) as unknown[]).push(value);
    else {
      // One member of a oneof at a time: the last one on the wire.
      if (field.partOf) for (const name of field.partOf.oneof) delete out[name];
      out[field.name] = value;
    }
  }
  ended(r, end);
  return out;
}

function read(field: protobuf.Field, r: Reader, depth: number): unknown {
  if (field.resolvedType instanceof protobuf.Type) return message(field.resolvedType, r, sub(r), depth + 1);
  switch (field.type) {
    case 'string':
      return r.string();
    case 'bytes':
      return r.bytes().toString('base64');
    case 'double':
      return r.double();
    case 'float':
      return r.float();
    case 'bool':
      return r.bool();
    case 'uint32':
      return r.uint32();
    case 'fixed32':
      return r.fixed32();
    case 'int64':
      return String(int64(r.varint64(), r.high | 0));
    case 'uint64':
      return uint64(r.varint64(), r.high).toString();
    case 'fixed64':
      return uint64(r.fixed32(), r.fixed32()).toString();
    default:
      // int32 and enums.
      return r.int32();
  }
}
