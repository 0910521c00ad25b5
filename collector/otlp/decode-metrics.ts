import type { AttrValue, Attributes } from '../../core/usage/types.ts';
import { DecodeError, failure, fail, setAttr, show } from './decode-common.ts';
import { bytesValue, doubleValue, intValue, list, obj, str, timestamp, type JsonObject } from './json-values.ts';
import { ExportLogsServiceRequest, ExportMetricsServiceRequest, protobufAsJson } from './metrics-proto.ts';
import type { OtlpFormat } from './response.ts';

/** The histogram tollkeeper meters (OTel GenAI semantic conventions). */
export const TOKEN_USAGE_METRIC = 'gen_ai.client.token.usage';

/** OTLP AggregationTemporality numbers. */
export const TEMPORALITY = { unspecified: 0, delta: 1, cumulative: 2 } as const;

/** One histogram point of `gen_ai.client.token.usage`, with what identifies its series. Times are epoch nanoseconds. */
export interface TokenPoint {
  resource: Attributes;
  scopeName: string;
  scopeVersion: string;
  metric: string;
  temporality: number;
  attributes: Attributes;
  startNano: bigint;
  timeNano: bigint;
  sum: number;
  count: number;
  /** Where the point is in the request (`resourceMetrics[i].scopeMetrics[j].metrics[k].dataPoints[n]`), to name it. */
  path: string;
}

/** Data points left out because one of their values could not be used: how many, and the first reason. */
export interface RejectedPoints {
  points: number;
  message: string;
}

export type MetricsDecodeResult = { ok: true; points: TokenPoint[]; otherPoints: number; rejected?: RejectedPoints } | { ok: false; error: string };

const MAX_DEPTH = 8;

function anyValue(v: unknown, path: string, depth: number): AttrValue {
  const o = obj(v, path);
  if (!o) return null;
  if (depth > MAX_DEPTH) fail(path, `values nested deeper than ${MAX_DEPTH}`);
  if ('stringValue' in o) return str(o.stringValue, `${path}.stringValue`);
  if ('boolValue' in o) return o.boolValue === true;
  if ('intValue' in o) return intValue(o.intValue, `${path}.intValue`);
  if ('doubleValue' in o) return doubleValue(o.doubleValue, `${path}.doubleValue`);
  if ('bytesValue' in o) return bytesValue(o.bytesValue, `${path}.bytesValue`);
  if ('arrayValue' in o) return list(obj(o.arrayValue, `${path}.arrayValue`)?.values, `${path}.arrayValue.values`).map((x, i) => anyValue(x, `${path}.arrayValue.values[${i}]`, depth + 1));
  if ('kvlistValue' in o) return keyValues(obj(o.kvlistValue, `${path}.kvlistValue`)?.values, `${path}.kvlistValue.values`, depth + 1);
  return null;
}

function keyValues(v: unknown, path: string, depth = 0): Attributes {
  const out: Attributes = {};
  list(v, path).forEach((kv, i) => {
    const o = obj(kv, `${path}[${i}]`);
    if (o) setAttr(out, str(o.key, `${path}[${i}].key`), anyValue(o.value, `${path}[${i}].value`, depth));
  });
  return out;
}

/** `data point <path> of <metric> {attributes}`: how a rejected point is named to the sender. */
export function describePoint(p: Pick<TokenPoint, 'path' | 'metric' | 'attributes'>): string {
  const attrs = Object.entries(p.attributes).map(([k, v]) => `${k}=${typeof v === 'string' ? v : show(v)}`).join(', ');
  const text = `data point ${p.path} of ${p.metric}${attrs === '' ? '' : ` {${attrs}}`}`;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

function walk(request: unknown): { points: TokenPoint[]; otherPoints: number; rejected?: RejectedPoints } {
  const points: TokenPoint[] = [];
  const rejected: RejectedPoints = { points: 0, message: '' };
  let otherPoints = 0;
  list(obj(request, 'request')?.resourceMetrics, 'resourceMetrics').forEach((rmv, i) => {
    const rm = obj(rmv, `resourceMetrics[${i}]`) ?? {};
    const resource = keyValues(obj(rm.resource, `resourceMetrics[${i}].resource`)?.attributes, `resourceMetrics[${i}].resource.attributes`);
    list(rm.scopeMetrics, `resourceMetrics[${i}].scopeMetrics`).forEach((smv, j) => {
      const at = `resourceMetrics[${i}].scopeMetrics[${j}]`;
      const sm = obj(smv, at) ?? {};
      const scope = obj(sm.scope, `${at}.scope`) ?? {};
      list(sm.metrics, `${at}.metrics`).forEach((mv, k) => {
        const m = obj(mv, `${at}.metrics[${k}]`) ?? {};
        const name = str(m.name, `${at}.metrics[${k}].name`);
        const data = obj(m.histogram, `${at}.metrics[${k}].histogram`) ?? obj(m.exponentialHistogram, `${at}.metrics[${k}].exponentialHistogram`);
        const dataPoints = list(data?.dataPoints, `${at}.metrics[${k}].dataPoints`);
        if (name !== TOKEN_USAGE_METRIC || !data) {
          otherPoints += countPoints(m);
          return;
        }
        const temporality = Number(data.aggregationTemporality ?? 0);
        const series = { resource, scopeName: str(scope.name, `${at}.scope.name`), scopeVersion: str(scope.version, `${at}.scope.version`), metric: name, temporality };
        dataPoints.forEach((pv, n) => {
          const path = `${at}.metrics[${k}].dataPoints[${n}]`;
          // A value that cannot be used (1e400 is Infinity in JSON, a count beyond 64 bits, a negative sum) costs
          // only its point: the others of the export are still counted.
          try {
            points.push(point(pv, path, series));
          } catch (err) {
            if (!(err instanceof DecodeError)) throw err;
            rejected.points++;
            rejected.message ||= `data point ${path} of ${name}: ${err.path.startsWith(path) ? err.path.slice(path.length + 1) : err.path}: ${err.detail}`;
          }
        });
      });
    });
  });
  return rejected.points === 0 ? { points, otherPoints } : { points, otherPoints, rejected };
}

function countPoints(m: JsonObject): number {
  let n = 0;
  for (const key of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) {
    const d = m[key];
    if (d && typeof d === 'object' && Array.isArray((d as JsonObject).dataPoints)) n += ((d as JsonObject).dataPoints as unknown[]).length;
  }
  return n;
}

function point(v: unknown, path: string, series: Pick<TokenPoint, 'resource' | 'scopeName' | 'scopeVersion' | 'metric' | 'temporality'>): TokenPoint {
  const p = obj(v, path) ?? {};
  const count = Number(intValue(p.count ?? 0, `${path}.count`));
  const sum = p.sum === undefined || p.sum === null ? 0 : doubleValue(p.sum, `${path}.sum`);
  // Never let NaN or Infinity into the series state or an event: such a point is rejected here.
  if (!Number.isFinite(sum) || sum < 0) fail(`${path}.sum`, `expected a finite token count >= 0, got ${String(sum)}`);
  if (!Number.isSafeInteger(count) || count < 0) fail(`${path}.count`, `expected a whole count >= 0, got ${show(p.count)}`);
  return {
    ...series,
    path,
    attributes: keyValues(p.attributes, `${path}.attributes`),
    startNano: timestamp(p.startTimeUnixNano, `${path}.startTimeUnixNano`),
    timeNano: timestamp(p.timeUnixNano, `${path}.timeUnixNano`),
    sum,
    count,
  };
}

/** Decodes an ExportMetricsServiceRequest (protobuf or JSON) into its token-usage points; never throws. */
export function decodeMetrics(body: Uint8Array, format: OtlpFormat): MetricsDecodeResult {
  try {
    const request = format === 'protobuf' ? protobufAsJson(ExportMetricsServiceRequest, body) : (JSON.parse(Buffer.from(body).toString('utf8') || '{}') as unknown);
    return { ok: true, ...walk(request) };
  } catch (err) {
    if (err instanceof DecodeError) return failure(err, 'invalid metrics request');
    return { ok: false, error: `invalid ${format === 'protobuf' ? 'protobuf' : 'JSON'} metrics request: ${(err as Error).message}` };
  }
}

/** How many log records an ExportLogsServiceRequest holds (they are answered as not ingested); -1 when unreadable. */
export function countLogRecords(body: Uint8Array, format: OtlpFormat): number {
  try {
    const request = format === 'protobuf' ? protobufAsJson(ExportLogsServiceRequest, body) : (JSON.parse(Buffer.from(body).toString('utf8') || '{}') as unknown);
    let n = 0;
    for (const rl of list(obj(request, 'request')?.resourceLogs, 'resourceLogs')) {
      for (const sl of list(obj(rl, 'resourceLogs[]')?.scopeLogs, 'scopeLogs')) n += list(obj(sl, 'scopeLogs[]')?.logRecords, 'logRecords').length;
    }
    return n;
  } catch {
    return -1;
  }
}
