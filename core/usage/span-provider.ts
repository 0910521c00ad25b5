import { asString, lookup } from './attributes.ts';
import { PROVIDER_ATTRS, providerFromMetadata } from './families.ts';
import { langfuseProvider } from './langfuse.ts';
import { STRANDS, strandsProvider } from './strands.ts';
import type { Attributes, DecodedSpan } from './types.ts';

/** The provider a span names; frameworks that name themselves instead (Strands) or nothing (Langfuse) are read their way. */
export function providerOf(a: Attributes, span: DecodedSpan, family: string, model: string): string {
  const named = asString(lookup(a, span.resource, PROVIDER_ATTRS)) || providerFromMetadata(a);
  if (family === 'strands' && (named === STRANDS || named === '')) return strandsProvider(model);
  return named || (family === 'langfuse' ? langfuseProvider(a, span.name) : '');
}
