// Throughput of price() on the hot path. Run: npx tsx bench/pricing.ts
import { createPricer, type PriceInput } from '../core/pricing/index.ts';

const T0 = Date.parse('2026-06-01T00:00:00Z');
const N = 1_000_000;

function run(name: string, make: (i: number) => PriceInput, pricer = createPricer({ overrides: [], fallback: null })): void {
  const inputs = Array.from({ length: 1024 }, (_, i) => make(i));
  for (let i = 0; i < 50_000; i++) pricer.price(inputs[i & 1023]!); // warm the memo and the JIT
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) sink += pricer.price(inputs[i & 1023]!).costUsd;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${name.padEnd(44)} ${Math.round(N / seconds).toLocaleString('en-US').padStart(12)} calls/s  (checksum ${sink.toFixed(2)})`);
}

const usage = (i: number) => ({ time: T0 + i * 60_000, inputTokens: 1_000 + i, outputTokens: 300, cacheReadTokens: 200, cacheWriteTokens: 0, reasoningTokens: 50, spanCost: null });
const MODELS: [string, string][] = [
  ['openai', 'gpt-4o-2024-08-06'], ['openai', 'gpt-4o-mini'], ['openai', 'o3-mini'], ['openai', 'o3'], ['anthropic', 'claude-3-5-sonnet-20241022'],
  ['anthropic', 'claude-sonnet-4-5'], ['aws.bedrock', 'anthropic.claude-3-haiku-20240307-v1:0'], ['gcp.vertex_ai', 'gemini-2.5-pro'],
  ['gcp.gemini', 'models/gemini-2.5-flash'], ['azure.ai.openai', 'gpt-4o'], ['deepseek', 'deepseek-chat'], ['x_ai', 'grok-3'],
  ['mistral_ai', 'mistral-large-latest'], ['groq', 'llama-3.3-70b-versatile'], ['', 'openai/gpt-4o'], ['perplexity', 'sonar'],
];

console.log(`node ${process.version}, ${N.toLocaleString('en-US')} calls per row`);
run('price_db, one model (gpt-4o)', (i) => ({ provider: 'openai', model: 'gpt-4o', ...usage(i) }));
run('price_db, 16 models round-robin', (i) => ({ provider: MODELS[i % 16]![0], model: MODELS[i % 16]![1], ...usage(i) }));
run('price_db, time-of-day model (deepseek-chat)', (i) => ({ provider: 'deepseek', model: 'deepseek-chat', ...usage(i) }));
run(
  'override (10 overrides configured)',
  (i) => ({ provider: 'openai', model: 'gpt-4o', ...usage(i) }),
  createPricer({
    overrides: Array.from({ length: 10 }, (_, k) => ({ provider: 'openai', model: k < 5 ? 'gpt-4o' : `m${k}`, input_per_mtok: 2, output_per_mtok: 8, effective_from: `2026-0${1 + (k % 5)}-01` })),
    fallback: null,
  }),
);
run('span cost', (i) => ({ provider: 'openai', model: 'gpt-4o', ...usage(i), spanCost: 0.01 }));
run('unknown model → unpriced', (i) => ({ provider: 'acme', model: 'secret-model', ...usage(i) }));

// Cold path: first sight of a (provider, model) pair resolves it through genai-prices.
const cold = createPricer({ overrides: [], fallback: null });
const start = process.hrtime.bigint();
const COLD = 2_000;
for (let i = 0; i < COLD; i++) cold.price({ provider: 'openai', model: `gpt-4o-variant-${i}`, ...usage(i) });
console.log(`${'cold: first sight of a (provider, model)'.padEnd(44)} ${(Number(process.hrtime.bigint() - start) / 1e3 / COLD).toFixed(1).padStart(12)} µs/call`);
