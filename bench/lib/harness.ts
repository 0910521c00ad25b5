// The child side of the runner protocol (see bench/run.ts): a benchmark file calls runBench(); the result
// goes to $BENCH_RESULT_FILE as JSON, or, when the file is run on its own, to stdout as markdown.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { renderResult } from './markdown.ts';
import type { BenchResult } from './result.ts';

export type { BenchResult, Table } from './result.ts';

export interface BenchContext {
  /** A fresh directory, removed after the run. */
  tmpDir: string;
  /** Budget multiplier: 1 for the real run, smaller for `--quick`. */
  scale: number;
}

const t0 = performance.now();

/** A progress line on stdout (the runner prefixes it with the benchmark id). */
export function progress(message: string): void {
  console.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${message}`);
}

export async function runBench(fn: (ctx: BenchContext) => Promise<BenchResult>): Promise<void> {
  const own = !process.env.BENCH_TMP;
  const tmpDir = process.env.BENCH_TMP ?? mkdtempSync(join(tmpdir(), 'tollkeeper-bench-'));
  const scale = Number(process.env.BENCH_SCALE ?? '1') || 1;
  try {
    const result = await fn({ tmpDir, scale });
    const out = process.env.BENCH_RESULT_FILE;
    if (out) writeFileSync(out, JSON.stringify(result));
    else console.log('\n' + renderResult(result));
    for (const p of result.problems ?? []) console.error(`PROBLEM: ${p}`);
  } finally {
    if (own) rmSync(tmpDir, { recursive: true, force: true });
  }
  // chdb keeps native threads alive; the result is written, so leave now.
  process.exit(0);
}
