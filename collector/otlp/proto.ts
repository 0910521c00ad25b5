import protobuf from 'protobufjs';

// OTLP trace export messages, transcribed from opentelemetry-proto (main @ ac2c4b5, 2026-08-18):
// common/v1/common.proto, resource/v1/resource.proto, trace/v1/trace.proto,
// collector/trace/v1/trace_service.proto, plus google.rpc.Status for error bodies.
// Field numbers must match the spec exactly; names are camelCased by protobufjs. Requests are
// decoded by decode-protobuf.ts, which walks the wire with protobufjs's Reader by these numbers;
// the messages here encode responses and serve the tests.
//
// Deliberately not declared (protobufjs skips undeclared fields without allocating):
// - Span.events (11) and Span.links (13): tollkeeper meters from span attributes, and GenAI
//   events carry whole prompts and completions, the bulk of many requests.
// - Resource.entity_refs (3), AnyValue.string_value_strindex (8), KeyValue.key_strindex (3):
//   the spec tells non-profiling receivers to ignore the strindex fields.

export const COMMON = `syntax = "proto3";
package opentelemetry.proto.common.v1;
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}`;

export const RESOURCE = `syntax = "proto3";
package opentelemetry.proto.resource.v1;
message Resource {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 1;
  uint32 dropped_attributes_count = 2;
}`;

const TRACE = `syntax = "proto3";
package opentelemetry.proto.trace.v1;
message ResourceSpans {
  opentelemetry.proto.resource.v1.Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
  string schema_url = 3;
}
message ScopeSpans {
  opentelemetry.proto.common.v1.InstrumentationScope scope = 1;
  repeated Span spans = 2;
  string schema_url = 3;
}
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  enum SpanKind {
    SPAN_KIND_UNSPECIFIED = 0;
    SPAN_KIND_INTERNAL = 1;
    SPAN_KIND_SERVER = 2;
    SPAN_KIND_CLIENT = 3;
    SPAN_KIND_PRODUCER = 4;
    SPAN_KIND_CONSUMER = 5;
  }
  SpanKind kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  uint32 dropped_events_count = 12;
  uint32 dropped_links_count = 14;
  Status status = 15;
}
message Status {
  reserved 1;
  string message = 2;
  enum StatusCode {
    STATUS_CODE_UNSET = 0;
    STATUS_CODE_OK = 1;
    STATUS_CODE_ERROR = 2;
  }
  StatusCode code = 3;
}`;

const TRACE_SERVICE = `syntax = "proto3";
package opentelemetry.proto.collector.trace.v1;
message ExportTraceServiceRequest {
  repeated opentelemetry.proto.trace.v1.ResourceSpans resource_spans = 1;
}
message ExportTraceServiceResponse {
  ExportTracePartialSuccess partial_success = 1;
}
message ExportTracePartialSuccess {
  int64 rejected_spans = 1;
  string error_message = 2;
}`;

const RPC_STATUS = `syntax = "proto3";
package google.rpc;
message Status {
  int32 code = 1;
  string message = 2;
  repeated google.protobuf.Any details = 3;
}`;

const ANY = `syntax = "proto3";
package google.protobuf;
message Any { string type_url = 1; bytes value = 2; }`;

// protobufjs decodes enum fields as the raw int32, unknown values included (proto3 open enums).
const root = new protobuf.Root();
for (const source of [COMMON, RESOURCE, TRACE, TRACE_SERVICE, ANY, RPC_STATUS]) {
  protobuf.parse(source, root, { keepCase: false });
}
root.resolveAll();

export const ExportTraceServiceRequest = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
export const ExportTraceServiceResponse = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
export const RpcStatus = root.lookupType('google.rpc.Status');

/** Span.SpanKind numbers (OTLP trace.proto). */
export const SPAN_KIND = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
} as const;

/** Status.StatusCode numbers (OTLP trace.proto). */
export const STATUS_CODE = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 } as const;
