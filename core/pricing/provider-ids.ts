import { findProvider } from '@pydantic/genai-prices';

/**
 * Provider names seen on spans → genai-prices provider ids. Covers OTel `gen_ai.provider.name`
 * and legacy `gen_ai.system` values, OpenInference `llm.provider`, Vercel AI SDK `ai.model.provider`
 * prefixes and OpenLLMetry names. Keys are lowercase.
 */
export const PROVIDER_ALIASES: Readonly<Record<string, string>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  'aws.bedrock': 'aws',
  aws: 'aws',
  bedrock: 'aws',
  'amazon-bedrock': 'aws',
  'azure.ai.openai': 'azure',
  'azure.ai.inference': 'azure',
  'az.ai.openai': 'azure',
  'az.ai.inference': 'azure',
  azure: 'azure',
  'azure-openai': 'azure',
  azure_openai: 'azure',
  'gcp.gemini': 'google',
  'gcp.vertex_ai': 'google',
  'gcp.gen_ai': 'google',
  vertex_ai: 'google',
  vertexai: 'google',
  vertex: 'google',
  gemini: 'google',
  google: 'google',
  x_ai: 'x-ai',
  xai: 'x-ai',
  'x-ai': 'x-ai',
  mistral_ai: 'mistral',
  mistralai: 'mistral',
  mistral: 'mistral',
  deepseek: 'deepseek',
  groq: 'groq',
  perplexity: 'perplexity',
  cohere: 'cohere',
  together: 'together',
  togetherai: 'together',
  together_ai: 'together',
  'together-ai': 'together',
  fireworks: 'fireworks',
  fireworks_ai: 'fireworks',
  'fireworks-ai': 'fireworks',
  moonshot: 'moonshotai',
  moonshotai: 'moonshotai',
  zhipu: 'zhipuai',
  zhipuai: 'zhipuai',
  openrouter: 'openrouter',
  cerebras: 'cerebras',
};

/** Substring rules applied before genai-prices' own, which would send "Azure OpenAI" to `openai`. */
const KEYWORDS: readonly (readonly [string, string])[] = [
  ['azure', 'azure'],
  ['bedrock', 'aws'],
  ['vertex', 'google'],
  ['gemini', 'google'],
];

/**
 * genai-prices provider id for a span's provider name, or undefined when unknown or empty
 * (the caller then matches on the model name alone). Order: alias of the whole name, alias
 * of its first dot-separated segment (`openai.responses`, `google.vertex.chat`), keyword rules,
 * then genai-prices' own id / `provider_match` rules.
 */
export function toGenaiProviderId(provider: string): string | undefined {
  const name = provider.trim().toLowerCase();
  if (name === '') return undefined;
  const direct = PROVIDER_ALIASES[name];
  if (direct !== undefined) return direct;
  const dot = name.indexOf('.');
  const head = dot > 0 ? PROVIDER_ALIASES[name.slice(0, dot)] : undefined;
  if (head !== undefined) return head;
  for (const [needle, id] of KEYWORDS) if (name.includes(needle)) return id;
  return findProvider({ providerId: name })?.id;
}
