import { asString } from './attributes.ts';
import type { Family } from './families.ts';
import type { Attributes } from './types.ts';

/** What a span describes, after reading each family's way of saying it (SPEC §11 "What counts as what"). */
export type SpanRole = 'inference' | 'tool' | 'container' | 'other';

const INFERENCE_OPS = new Set(['chat', 'text_completion', 'generate_content', 'embeddings', 'completion', 'embedding', 'create_embeddings', 'responses']);
const CONTAINER_OPS = new Set(['invoke_agent', 'create_agent', 'workflow', 'task', 'agent', 'chain']);

export function operationOf(attrs: Attributes, family: Family): string {
  const op = asString(attrs['gen_ai.operation.name']);
  if (op) return op;
  if (family === 'vercel') return asString(attrs['ai.operationId']);
  if (family === 'openinference') return asString(attrs['openinference.span.kind']).toUpperCase();
  if (family === 'traceloop') return asString(attrs['llm.request.type']) || asString(attrs['traceloop.span.kind']);
  return '';
}

export function roleOf(attrs: Attributes, family: Family, operation: string, spanName: string): SpanRole {
  if (operation === 'execute_tool') return 'tool';
  if (INFERENCE_OPS.has(operation)) return 'inference';
  if (CONTAINER_OPS.has(operation)) return 'container';
  switch (family) {
    case 'vercel':
      if (operation === 'ai.toolCall') return 'tool';
      // ai.generateText.doGenerate / ai.streamText.doStream / ai.embed.doEmbed are the calls; ai.generateText is their aggregate.
      if (/\.do(Generate|Stream|Embed)$/.test(operation)) return 'inference';
      return operation.startsWith('ai.') ? 'container' : 'other';
    case 'openinference':
      if (operation === 'LLM' || operation === 'EMBEDDING') return 'inference';
      if (operation === 'TOOL') return 'tool';
      return operation ? 'container' : 'other';
    case 'traceloop': {
      const kind = asString(attrs['traceloop.span.kind']);
      if (kind === 'tool') return 'tool';
      if (kind === 'workflow' || kind === 'task' || kind === 'agent') return 'container';
      return asString(attrs['llm.request.type']) ? 'inference' : 'other';
    }
    default:
      // Only for spans that carry usage (the caller decides): a span named "chat …" is not a call by name alone.
      if (/^(chat|text_completion|embeddings|generate_content)\b/.test(spanName)) return 'inference';
      return 'other';
  }
}
