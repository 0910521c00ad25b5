// Wrappers for benchmark scripts that only print (bench/otlp-decode.ts, bench/pricing.ts): the runner runs
// them as they are and turns their stdout into a table. When a line format changes, the raw output is kept.
import type { BenchResult } from './harness.ts';

const num = (s: string) => s.replace(/,/g, '');

export function parseOtlpDecode(stdout: string): BenchResult {
  const lines = stdout.split('\n');
  const rows: string[][] = [];
  for (const l of lines) {
    const m = /^(\S[\S ]*?)\s+best\s+([\d,]+) spans\/s \((\d+) MB\/s\)\s+median\s+([\d,]+)\s+\((\d+) B\/span\)/.exec(l.trim());
    if (m) rows.push([m[1]!, m[2]!, m[3]!, m[4]!.trim(), m[5]!]);
  }
  return {
    title: 'OTLP decode (collector/otlp, one core)',
    method: [
      '`bench/otlp-decode.ts` as is: one OTel-SDK-serialized request of 1000 GenAI spans decoded in a loop; 5 interleaved rounds of 1 s, best and median round.',
      `Its own header: ${lines[0]?.trim() ?? ''}`,
    ],
    tables: rows.length ? [{ columns: ['decoder', 'best spans/s', 'best MB/s', 'median spans/s', 'bytes/span'], rows }] : [],
    ...(rows.length ? {} : { raw: stdout }),
  };
}

export function parsePricing(stdout: string): BenchResult {
  const lines = stdout.split('\n');
  const rows: string[][] = [];
  for (const l of lines) {
    const calls = /^(.*?)\s+([\d,]+) calls\/s/.exec(l);
    const cold = /^(.*?)\s+([\d.]+) µs\/call/.exec(l);
    if (calls) rows.push([calls[1]!.trim(), calls[2]!, (1e6 / Number(num(calls[2]!))).toFixed(2)]);
    else if (cold) rows.push([cold[1]!.trim(), Math.round(1e6 / Number(cold[2])).toLocaleString('en-US'), cold[2]!]);
  }
  return {
    title: 'Pricing (core/pricing, one core)',
    method: [
      '`bench/pricing.ts` as is: `pricer.price()` over 1024 prepared inputs, 1,000,000 calls per row after a warm-up; the last row prices 2,000 never-seen models (cold path).',
      `Its own header: ${lines[0]?.trim() ?? ''}`,
    ],
    tables: rows.length ? [{ columns: ['case', 'calls/s', 'µs/call'], rows }] : [],
    ...(rows.length ? {} : { raw: stdout }),
  };
}
