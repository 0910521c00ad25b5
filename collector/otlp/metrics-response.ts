import { ExportLogsServiceResponse, ExportMetricsServiceResponse } from './metrics-proto.ts';
import { CONTENT_TYPE, type EncodedBody, type OtlpFormat } from './response.ts';

/**
 * ExportMetricsServiceResponse / ExportLogsServiceResponse for a 200: `partialSuccess` is left unset on full success,
 * as OTLP requires; int64 is a decimal string in JSON.
 */
function encodePartial(kind: 'metrics' | 'logs', rejected: number, errorMessage: string, format: OtlpFormat): EncodedBody {
  const field = kind === 'metrics' ? 'rejectedDataPoints' : 'rejectedLogRecords';
  const n = Number.isFinite(rejected) ? Math.max(0, Math.trunc(rejected)) : 0;
  const partial = n > 0 || errorMessage !== '';
  if (format === 'json') {
    if (!partial) return { body: '{}', contentType: CONTENT_TYPE.json };
    const p: Record<string, string> = {};
    if (n > 0) p[field] = String(n);
    if (errorMessage !== '') p.errorMessage = errorMessage;
    return { body: JSON.stringify({ partialSuccess: p }), contentType: CONTENT_TYPE.json };
  }
  const type = kind === 'metrics' ? ExportMetricsServiceResponse : ExportLogsServiceResponse;
  const bytes = type.encode(partial ? { partialSuccess: { [field]: n, errorMessage } } : {}).finish();
  return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), contentType: CONTENT_TYPE.protobuf };
}

export const encodeMetricsResponse = (rejected: number, errorMessage: string, format: OtlpFormat): EncodedBody => encodePartial('metrics', rejected, errorMessage, format);
export const encodeLogsResponse = (rejected: number, errorMessage: string, format: OtlpFormat): EncodedBody => encodePartial('logs', rejected, errorMessage, format);
