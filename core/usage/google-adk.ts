import type { Attributes } from './types.ts';

// Google's Agent Development Kit (tracer `gcp.vertex.agent`) reports a model call on its `call_llm` span with
// gen_ai.usage.input_tokens = prompt_token_count and output_tokens = candidates_token_count: the thinking tokens
// (billed as output) and the cached count are only in the response JSON it attaches (docs/instrumentations.md).

export const ADK_RESPONSE = 'gcp.vertex.agent.llm_response';
/** The tool name of ADK's extra `execute_tool (merged)` span after parallel function calls: it runs no tool. */
export const ADK_MERGED_TOOLS = '(merged tools)';

/** ADK's `call_llm` span: a model call, though it names no operation. */
export const isAdkCall = (attrs: Attributes, spanName: string) => spanName === 'call_llm' && attrs['gen_ai.system'] === 'gcp.vertex.agent';

const count = (text: string, key: string): number | undefined => {
  const m = new RegExp(`"${key}"\\s*:\\s*(\\d{1,9})\\b`).exec(text);
  return m ? Number(m[1]) : undefined;
};

/**
 * The counts in ADK's response JSON for a `call_llm` span: the thinking and cached counts when the span's output is
 * the candidates count alone (output with the thoughts added back), or all of them when the span has no count
 * attribute (ADK before 1.5 wrote none). Undefined when the JSON has no usage (content capture off) or the span's
 * output already includes the thoughts.
 */
export function adkDetails(attrs: Attributes, output: number, spanHasCounts: boolean): { input?: number; output: number; reasoning: number; cacheRead?: number } | undefined {
  const raw = attrs[ADK_RESPONSE];
  if (typeof raw !== 'string') return undefined;
  const at = raw.lastIndexOf('"usage_metadata"');
  if (at < 0) return undefined;
  // the usage object is small; the prompt_tokens_details lists inside it stay well within this window
  const usage = raw.slice(at, at + 4096);
  const thoughts = count(usage, 'thoughts_token_count') ?? 0;
  const candidates = count(usage, 'candidates_token_count');
  const cacheRead = count(usage, 'cached_content_token_count');
  if (!spanHasCounts) {
    const input = count(usage, 'prompt_token_count');
    return input === undefined && candidates === undefined ? undefined : { input: input ?? 0, output: (candidates ?? 0) + thoughts, reasoning: thoughts, cacheRead };
  }
  return candidates === output ? { output: output + thoughts, reasoning: thoughts, cacheRead } : undefined;
}
