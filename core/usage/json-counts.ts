import { ADK_RESPONSE, adkDetails, isAdkCall } from './google-adk.ts';
import type { TokenField } from './families.ts';
import { LANGFUSE_USAGE, langfuseCounts } from './langfuse.ts';
import type { Attributes } from './types.ts';

/**
 * Counts that families put in a JSON string instead of count attributes: all of them (Langfuse's usage_details,
 * read only when the span has no count attribute), or the part the attributes leave out (Google ADK's thinking and
 * cached counts). The caller validates and applies them; `source` names the attribute in error messages.
 */
export function jsonCounts(a: Attributes, spanName: string, tokens: Readonly<Record<TokenField, number>>, hasCounts: boolean): { source: string; counts: Partial<Record<TokenField, number>> } | undefined {
  if (!hasCounts && a[LANGFUSE_USAGE] !== undefined) {
    const counts = langfuseCounts(a);
    return counts && { source: LANGFUSE_USAGE, counts };
  }
  if (tokens.reasoning === 0 && a[ADK_RESPONSE] !== undefined && isAdkCall(a, spanName)) {
    const counts = adkDetails(a, tokens.output, hasCounts);
    return counts && { source: ADK_RESPONSE, counts };
  }
  return undefined;
}
