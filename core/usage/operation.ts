import { asString } from './attributes.ts';
import { ADK_MERGED_TOOLS, isAdkCall } from './google-adk.ts';
import type { Attributes } from './types.ts';

/** What a span describes, after reading each family's way of saying it (docs/concepts/one-call.md). */
export type SpanRole = 'inference' | 'tool' | 'container' | 'other';

// LiteLLM names the operation after its call type, async ones prefixed with `a` (`acompletion`, `aembedding`).
const INFERENCE_OPS = new Set([
  'chat',
  'text_completion',
  // Semantic Kernel (Python) names text completions in the plural.
  'text_completions',
  'generate_content',
  'embeddings',
  'completion',
  'embedding',
  'create_embeddings',
  'responses',
  'acompletion',
  'aembedding',
  'atext_completion',
  'aresponses',
]);
// A hand-off passes the conversation to another agent: no tool of the app runs (OTel contrib's agents bridge: `agent_handoff`).
const CONTAINER_OPS = new Set(['invoke_agent', 'create_agent', 'workflow', 'task', 'agent', 'chain', 'agent_handoff', 'handoff']);
/** Vercel AI SDK spans that sum their steps' usage (also when Traceloop renamed them like a step). */
const VERCEL_AGGREGATES = new Set(['ai.generateText', 'ai.streamText', 'ai.generateObject', 'ai.streamObject', 'ai.embed', 'ai.embedMany']);
const OPENINFERENCE_CALLS = new Set(['LLM', 'EMBEDDING']);
/** Bedrock Runtime API methods that are model calls (the SDK span's `rpc.method`). */
const BEDROCK_CALLS = new Set(['InvokeModel', 'InvokeModelWithResponseStream', 'Converse', 'ConverseStream']);
/** Langfuse observation types that are model calls; `tool` is a tool run, the others (span, agent, chain, event, …) contain. */
const LANGFUSE_CALLS = new Set(['generation', 'embedding']);
/** First words of semconv span names (`chat gpt-4o`) that name a call, trusted only on spans with token counts. */
const CALL_NAME_WORDS = new Set(['chat', 'text_completion', 'embeddings', 'generate_content']);

/**
 * `execute_tool` spans that are no tool run: Google ADK's record after parallel calls, and Semantic Kernel's span
 * around every kernel function the app itself invoked (a prompt function wraps model calls; the model's tool calls
 * carry gen_ai.tool.call.id).
 */
function ranNoTool(attrs: Attributes, scopeName: string): boolean {
  if (attrs['gen_ai.tool.name'] === ADK_MERGED_TOOLS) return true;
  return scopeName.startsWith('semantic_kernel') && attrs['gen_ai.tool.call.id'] === undefined;
}

/** The operation stored on the event: semconv name, else the family's own word for it. */
export function operationOf(attrs: Attributes): string {
  return (
    asString(attrs['gen_ai.operation.name']) ||
    asString(attrs['ai.operationId']) ||
    asString(attrs['openinference.span.kind']).toUpperCase() ||
    asString(attrs['llm.request.type']) ||
    asString(attrs['traceloop.span.kind']) ||
    asString(attrs['langfuse.observation.type'])
  );
}

/**
 * The role of a span, from the most specific marker down: Vercel `ai.operationId` (it tells an aggregate from its
 * steps even after Traceloop renamed both `chat <model>`), `gen_ai.operation.name`, OpenInference span kind,
 * Traceloop span kind, the spans that name no operation (Google ADK's `call_llm`, the AWS SDK's Bedrock calls),
 * Langfuse observation type, and last the semconv span name, only for a span that carries token counts.
 */
export function roleOf(attrs: Attributes, spanName: string, hasTokens: boolean, scopeName = ''): SpanRole {
  const vercel = asString(attrs['ai.operationId']);
  if (vercel) {
    if (vercel === 'ai.toolCall') return 'tool';
    if (VERCEL_AGGREGATES.has(vercel)) return 'container';
    if (vercel.endsWith('.doGenerate') || vercel.endsWith('.doStream') || vercel.endsWith('.doEmbed')) return 'inference';
  }
  const op = asString(attrs['gen_ai.operation.name']);
  if (op === 'execute_tool') return ranNoTool(attrs, scopeName) ? 'container' : 'tool';
  if (INFERENCE_OPS.has(op)) return 'inference';
  if (CONTAINER_OPS.has(op)) return 'container';
  const oi = asString(attrs['openinference.span.kind']).toUpperCase();
  // OpenInference's agents bridges (JS and Python) make a hand-off a TOOL span named `handoff to <agent>`: not a tool execution.
  if (oi) return OPENINFERENCE_CALLS.has(oi) ? 'inference' : oi === 'TOOL' && !spanName.startsWith('handoff to ') ? 'tool' : 'container';
  const tl = asString(attrs['traceloop.span.kind']);
  if (tl === 'tool') return 'tool';
  if (tl === 'workflow' || tl === 'task' || tl === 'agent') return 'container';
  if (INFERENCE_OPS.has(asString(attrs['llm.request.type']))) return 'inference';
  if (isAdkCall(attrs, spanName)) return 'inference';
  // OTel's JS AWS SDK instrumentation sets no operation on Bedrock InvokeModel spans (`BedrockRuntime.InvokeModel`).
  if (BEDROCK_CALLS.has(asString(attrs['rpc.method'])) && asString(attrs['rpc.service']) === 'BedrockRuntime') return 'inference';
  const lf = asString(attrs['langfuse.observation.type']);
  if (lf) return LANGFUSE_CALLS.has(lf) ? 'inference' : lf === 'tool' ? 'tool' : 'container';
  if (op || vercel) return vercel.startsWith('ai.') ? 'container' : 'other';
  if (hasTokens) {
    const space = spanName.indexOf(' ');
    if (CALL_NAME_WORDS.has(space < 0 ? spanName : spanName.slice(0, space))) return 'inference';
  }
  return 'other';
}
