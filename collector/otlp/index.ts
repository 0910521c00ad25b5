// OTLP/HTTP trace ingest codec: request bodies → DecodedSpan[], results → response bodies.
export { decodeProtobuf } from './decode-protobuf.ts';
export { decodeJson } from './decode-json.ts';
export { OTLP_LIMITS, hasValidIds } from './decode-common.ts';
export type { DecodeResult } from './decode-common.ts';
export { CONTENT_TYPE, RPC_CODE, encodeExportResponse, encodeStatus, rpcCodeForHttpStatus } from './response.ts';
export type { EncodedBody, OtlpFormat, PartialSuccess } from './response.ts';
