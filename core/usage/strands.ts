// Strands Agents names itself, `strands-agents`, where spans name the provider (gen_ai.system, or
// gen_ai.provider.name in its experimental mode). Its default model provider is Amazon Bedrock, whose model ids say
// so (docs/instrumentations.md, "Strands").

export const STRANDS = 'strands-agents';

/** Bedrock model ids: an ARN, or `[<geo>.]<vendor>.<model>` (`global.anthropic.claude-sonnet-4-6`, `amazon.nova-lite-v1:0`). */
const BEDROCK_MODEL = /^(?:arn:aws[\w-]*:bedrock:|(?:(?:us|eu|apac|us-gov|global|jp|au|ca)\.)?(?:anthropic|amazon|meta|mistral|cohere|ai21|deepseek|writer|qwen|openai|twelvelabs|stability)\.[\w.:-]+$)/;

/** The provider behind a Strands span: `aws.bedrock` for a Bedrock model id, else unknown (the model alone prices it). */
export function strandsProvider(model: string): string {
  return BEDROCK_MODEL.test(model) ? 'aws.bedrock' : '';
}
