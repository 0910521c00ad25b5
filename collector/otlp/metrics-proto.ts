import protobuf from 'protobufjs';
import { decodeMessage } from './decode-message.ts';
import { COMMON, RESOURCE } from './proto.ts';

// OTLP metrics and logs export messages, transcribed from opentelemetry-proto (metrics/v1/metrics.proto,
// collector/metrics/v1/metrics_service.proto, logs/v1/logs.proto, collector/logs/v1/logs_service.proto). Only what
// metering reads is declared: histogram points without buckets and exemplars; log records as empty messages (a
// logs request is only counted, to say how many records were not ingested). protobufjs skips undeclared fields.

const METRICS = `syntax = "proto3";
package opentelemetry.proto.metrics.v1;
message ResourceMetrics {
  opentelemetry.proto.resource.v1.Resource resource = 1;
  repeated ScopeMetrics scope_metrics = 2;
}
message ScopeMetrics {
  opentelemetry.proto.common.v1.InstrumentationScope scope = 1;
  repeated Metric metrics = 2;
}
message Metric {
  string name = 1;
  string unit = 3;
  oneof data {
    Histogram histogram = 9;
    ExponentialHistogram exponential_histogram = 10;
  }
}
message Histogram {
  repeated HistogramDataPoint data_points = 1;
  int32 aggregation_temporality = 2;
}
message ExponentialHistogram {
  repeated ExponentialHistogramDataPoint data_points = 1;
  int32 aggregation_temporality = 2;
}
message HistogramDataPoint {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 9;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  fixed64 count = 4;
  double sum = 5;
  uint32 flags = 10;
}
message ExponentialHistogramDataPoint {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 1;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  fixed64 count = 4;
  double sum = 5;
  uint32 flags = 10;
}`;

/** A collector service's export request and response: every OTLP signal has the same shape, names aside. */
function exportService(signal: 'Metrics' | 'Logs', resource: string, rejected: string): string {
  const pkg = `opentelemetry.proto.collector.${signal.toLowerCase()}.v1`;
  return [
    'syntax = "proto3";',
    `package ${pkg};`,
    `message Export${signal}ServiceRequest { repeated ${resource} ${resource === 'ResourceLogs' ? 'resource_logs' : 'resource_metrics'} = 1; }`,
    `message Export${signal}ServiceResponse { Export${signal}PartialSuccess partial_success = 1; }`,
    `message Export${signal}PartialSuccess { int64 ${rejected} = 1; string error_message = 2; }`,
    // Logs are only counted: their records are declared empty so protobufjs skips their contents.
    ...(signal === 'Logs' ? ['message ResourceLogs { repeated ScopeLogs scope_logs = 2; }', 'message ScopeLogs { repeated LogRecord log_records = 2; }', 'message LogRecord {}'] : []),
  ].join('\n');
}

const METRICS_SERVICE = exportService('Metrics', 'opentelemetry.proto.metrics.v1.ResourceMetrics', 'rejected_data_points');
const LOGS = exportService('Logs', 'ResourceLogs', 'rejected_log_records');

const root = new protobuf.Root();
for (const source of [COMMON, RESOURCE, METRICS, METRICS_SERVICE, LOGS]) protobuf.parse(source, root, { keepCase: false });
root.resolveAll();

export const ExportMetricsServiceRequest = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
export const ExportMetricsServiceResponse = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse');
export const ExportLogsServiceRequest = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
export const ExportLogsServiceResponse = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');

/**
 * A protobuf request as the plain object OTLP/JSON would carry (camelCase names, int64 as decimal strings, bytes as
 * base64, enums as numbers), so one walker reads both encodings. Throws on a body that breaks the wire format.
 */
export function protobufAsJson(type: protobuf.Type, body: Uint8Array): unknown {
  return decodeMessage(type, body);
}
