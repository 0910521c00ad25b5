import { ExportTraceServiceResponse, RpcStatus } from './proto.ts';

// Response bodies per OTLP/HTTP: 200 carries ExportTraceServiceResponse, every 4xx/5xx a
// google.rpc.Status, both in the request's encoding and with the request's content type.

export type OtlpFormat = 'protobuf' | 'json';

export interface EncodedBody {
  body: Buffer | string;
  contentType: string;
}

export interface PartialSuccess {
  rejectedSpans: number;
  errorMessage: string;
}

export const CONTENT_TYPE = { protobuf: 'application/x-protobuf', json: 'application/json' } as const;

/** google.rpc.Code numbers used for OTLP/HTTP error bodies (clients only log them). */
export const RPC_CODE = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** The google.rpc.Code that goes with an HTTP error status in an OTLP Status body. */
export function rpcCodeForHttpStatus(status: number): number {
  switch (status) {
    case 400:
    case 415:
      return RPC_CODE.INVALID_ARGUMENT;
    case 401:
      return RPC_CODE.UNAUTHENTICATED;
    case 403:
      return RPC_CODE.PERMISSION_DENIED;
    case 404:
      return RPC_CODE.NOT_FOUND;
    case 405:
      return RPC_CODE.UNIMPLEMENTED;
    case 413:
    case 429:
      return RPC_CODE.RESOURCE_EXHAUSTED;
    case 502:
    case 503:
    case 504:
      return RPC_CODE.UNAVAILABLE;
    default:
      return status >= 500 ? RPC_CODE.INTERNAL : RPC_CODE.INVALID_ARGUMENT;
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * ExportTraceServiceResponse for a 200. `partialSuccess` is left unset (as OTLP requires for
 * full success) when `r` is null or has no rejected spans and no message; a message with zero
 * rejected spans is kept, since OTLP uses that for warnings.
 */
export function encodeExportResponse(r: PartialSuccess | null, format: OtlpFormat): EncodedBody {
  const rejectedSpans = r === null || !Number.isFinite(r.rejectedSpans) ? 0 : Math.max(0, Math.trunc(r.rejectedSpans));
  const errorMessage = r?.errorMessage ?? '';
  const partial = rejectedSpans > 0 || errorMessage !== '';
  if (format === 'json') {
    if (!partial) return { body: '{}', contentType: CONTENT_TYPE.json };
    // proto3 JSON: int64 as a decimal string, default values omitted.
    const p: Record<string, string> = {};
    if (rejectedSpans > 0) p.rejectedSpans = String(rejectedSpans);
    if (errorMessage !== '') p.errorMessage = errorMessage;
    return { body: JSON.stringify({ partialSuccess: p }), contentType: CONTENT_TYPE.json };
  }
  const message = partial ? { partialSuccess: { rejectedSpans, errorMessage } } : {};
  return { body: asBuffer(ExportTraceServiceResponse.encode(message).finish()), contentType: CONTENT_TYPE.protobuf };
}

/** google.rpc.Status body for a 4xx/5xx; `code` is a google.rpc.Code (see rpcCodeForHttpStatus). */
export function encodeStatus(code: number, message: string, format: OtlpFormat): EncodedBody {
  const c = Number.isInteger(code) ? code | 0 : RPC_CODE.INTERNAL;
  if (format === 'json') return { body: JSON.stringify({ code: c, message }), contentType: CONTENT_TYPE.json };
  return { body: asBuffer(RpcStatus.encode({ code: c, message }).finish()), contentType: CONTENT_TYPE.protobuf };
}
