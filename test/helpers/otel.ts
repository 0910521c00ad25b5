import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Attributes, Tracer } from '@opentelemetry/api';

/** A real OTel SDK tracer exporting over OTLP/HTTP (protobuf or JSON) to the collector under test. */
export function createTracer(otlpUrl: string, format: 'protobuf' | 'json', service = 'test-service') {
  const options = { url: `${otlpUrl}/v1/traces` };
  const exporter = format === 'protobuf' ? new ProtoExporter(options) : new JsonExporter(options);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 100, maxExportBatchSize: 512 })],
  });
  const tracer: Tracer = provider.getTracer('tollkeeper-test', '1.0.0');
  return {
    tracer,
    /** One finished chat span with the given attributes. */
    chat(attributes: Attributes): void {
      const span = tracer.startSpan(`chat ${String(attributes['gen_ai.request.model'] ?? '')}`, { attributes: { 'gen_ai.operation.name': 'chat', ...attributes } });
      span.end();
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
