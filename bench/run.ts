// Benchmark runner: `npm run bench` runs every benchmark and rewrites BENCHMARKS.md.
//
//   npm run bench                                  all of them in one go, with progress: section n/N, elapsed, time left (from the last run's durations)
//   npm run bench -- --only ingest,event-loop      a subset; the other sections of BENCHMARKS.md are kept
//   npm run bench -- --list                        ids, files and whether they are built in or discovered
//   npm run bench -- --quick                       smaller budgets, written to $TMPDIR/BENCHMARKS.quick.md (smoke test)
//   npm run bench -- --out some.md                 write elsewhere
//   npm run bench -- --scale 0.5                   budgets × 0.5 (a loaded machine); written to BENCHMARKS.md, marked as scaled
//   BENCH_NODE_FLAGS="--heap-growing-percent=20" npm run bench -- --only overload --out x.md   extra V8/Node flags for the benchmark processes
//
// Which benchmarks exist: BUILT_IN below, plus every `bench/*.bench.ts` file, found automatically (id = the file
// name without `.bench.ts`). To add one (detection latency, revocation polling, overspend, dashboard queries…),
// create `bench/<id>.bench.ts` that calls `runBench()` from bench/lib/harness.ts and returns a BenchResult
// (title, one line per method step, tables). Nothing else to register. Default time limit 5 min; a line
// `// bench-timeout: 8m` near the top of the file changes it.
//
// Protocol: each benchmark runs in its own process (`node --import tsx <file>`; chdb allows one data directory
// per process) with BENCH_TMP (a fresh directory, removed afterwards), BENCH_SCALE (1, --scale's value, or 0.2 with --quick)
// and BENCH_RESULT_FILE (where runBench writes the result as JSON). Its stdout/stderr are shown as progress.
// Scripts that only print (bench/otlp-decode.ts, bench/pricing.ts) run unchanged; their output is parsed.
// In BENCHMARKS.md each benchmark owns the text between `<!-- bench:<id> -->` and `<!-- /bench:<id> -->`.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './lib/harness.ts';
import { loadAvg, machine, machineTable, runLine } from './lib/machine.ts';
import { mergeDocument, renderResult } from './lib/markdown.ts';
import { createRunProgress, previousSeconds } from './lib/progress.ts';
import { parseOtlpDecode, parsePricing } from './lib/scripts.ts';

interface Entry {
  id: string;
  file: string;
  timeoutMs: number;
  /** For scripts that print instead of calling runBench(). */
  parse?: (stdout: string) => BenchResult;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BENCH = join(ROOT, 'bench');

const BUILT_IN: Entry[] = [
  { id: 'ingest', file: 'bench/ingest.ts', timeoutMs: 7 * 60_000 },
  { id: 'overload', file: 'bench/overload.ts', timeoutMs: 3 * 60_000 },
  { id: 'event-loop', file: 'bench/event-loop.ts', timeoutMs: 3 * 60_000 },
  { id: 'otlp-decode', file: 'bench/otlp-decode.ts', timeoutMs: 2 * 60_000, parse: parseOtlpDecode },
  { id: 'pricing', file: 'bench/pricing.ts', timeoutMs: 2 * 60_000, parse: parsePricing },
];

function declaredTimeout(file: string): number | undefined {
  const m = /bench-timeout:\s*(\d+)\s*(s|m)\b/.exec(readFileSync(file, 'utf8').slice(0, 2000));
  return m ? Number(m[1]) * (m[2] === 'm' ? 60_000 : 1000) : undefined;
}

function discover(): Entry[] {
  const found = readdirSync(BENCH)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort()
    .map((f) => ({ id: f.slice(0, -'.bench.ts'.length), file: `bench/${f}`, timeoutMs: declaredTimeout(join(BENCH, f)) ?? 5 * 60_000 }));
  return [...BUILT_IN, ...found.filter((f) => !BUILT_IN.some((b) => b.id === f.id))];
}

function parseArgs(argv: string[]) {
  const o = { only: null as string[] | null, list: false, quick: false, out: '', scale: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => (a.includes('=') ? a.slice(a.indexOf('=') + 1) : (argv[++i] ?? ''));
    if (a === '--only' || a.startsWith('--only=')) o.only = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--out' || a.startsWith('--out=')) o.out = value();
    else if (a === '--list') o.list = true;
    else if (a === '--quick') o.quick = true;
    else if (a === '--scale' || a.startsWith('--scale=')) {
      o.scale = Number(value());
      if (!(o.scale > 0 && o.scale <= 1)) throw new Error(`--scale expects a number in (0, 1], received ${a}`);
    } else throw new Error(`unknown argument ${a} (use --only <ids>, --list, --quick, --scale <0..1>, --out <file>)`);
  }
  return o;
}

/**
 * The Node flags and environment (`NAME=value` before `node`) `npm start` runs with (package.json), so the app in a
 * benchmark runs as users run it.
 */
const START_WORDS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!.split(/\s+/);
const START_FLAGS = START_WORDS.filter((a) => a.startsWith('--') && a !== '--import');
const START_ENV = Object.fromEntries(START_WORDS.slice(0, START_WORDS.indexOf('node')).map((a) => a.split('=', 2) as [string, string]));

// Ctrl-C: the benchmark process gets the signal too (same process group); the runner removes its scratch directory.
let running: { child: ReturnType<typeof spawn>; tmp: string } | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (running) {
      running.child.kill('SIGKILL');
      rmSync(running.tmp, { recursive: true, force: true });
    }
    process.exit(130);
  });
}

/** Runs one benchmark process to completion (or its timeout); its output lines are prefixed with its id. */
function runOne(e: Entry, scale: number): Promise<{ result?: BenchResult; error?: string; seconds: number }> {
  const tmp = mkdtempSync(join(tmpdir(), `tollkeeper-bench-${e.id}-`));
  const resultFile = join(tmp, 'result.json');
  const started = Date.now();
  // The same Node flags as `npm start` (START_FLAGS). BENCH_NODE_FLAGS adds V8/Node flags (e.g. to weigh a GC setting against those defaults).
  const extra = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...START_FLAGS, ...extra, '--import', 'tsx', e.file], {
    cwd: ROOT,
    env: { ...START_ENV, ...process.env, BENCH_TMP: join(tmp, 'work'), BENCH_RESULT_FILE: resultFile, BENCH_SCALE: String(scale) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running = { child, tmp };
  let stdout = '';
  let tail = '';
  const relay = (stream: NodeJS.ReadableStream, keep: boolean) => {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        console.log(`[${e.id}] ${l}`);
        if (keep) stdout += l + '\n';
        tail = (tail + l + '\n').slice(-2000);
      }
    });
  };
  relay(child.stdout, true);
  relay(child.stderr, false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      console.error(`[${e.id}] timed out after ${e.timeoutMs / 1000} s; stopping it`);
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 5_000).unref();
    }, e.timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const seconds = (Date.now() - started) / 1000;
      let out: { result?: BenchResult; error?: string; seconds: number } = { seconds };
      try {
        if (code !== 0) out.error = `exited with ${code ?? signal}; last output:\n${tail}`;
        else if (e.parse) out.result = e.parse(stdout);
        else if (existsSync(resultFile)) out.result = JSON.parse(readFileSync(resultFile, 'utf8')) as BenchResult;
        else out.error = 'finished without writing a result (does it call runBench()?)';
      } catch (err) {
        out = { seconds, error: `could not read its result: ${(err as Error).message}` };
      }
      rmSync(tmp, { recursive: true, force: true });
      running = undefined;
      resolve(out);
    });
  });
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const all = discover();
  if (args.list) {
    for (const e of all) console.log(`${e.id.padEnd(14)} ${e.file}${BUILT_IN.includes(e) ? '' : '  (discovered)'}`);
    return 0;
  }
  const unknown = (args.only ?? []).filter((id) => !all.some((e) => e.id === id));
  if (unknown.length) {
    console.error(`unknown benchmark ${unknown.join(', ')}; known: ${all.map((e) => e.id).join(', ')}`);
    return 2;
  }
  const chosen = args.only ? all.filter((e) => args.only!.includes(e.id)) : all;
  const out = args.out || (args.quick ? join(tmpdir(), 'BENCHMARKS.quick.md') : join(ROOT, 'BENCHMARKS.md'));
  const argv = process.argv.slice(2).join(' ');
  const command = process.env.npm_lifecycle_event === 'bench' ? `npm run bench${argv ? ` -- ${argv}` : ''}` : `npx tsx bench/run.ts ${argv}`.trim();
  const m = machine();
  const date = new Date();
  console.log(`tollkeeper benchmarks: ${chosen.map((e) => e.id).join(', ')} → ${relative(ROOT, out) || out}`);
  console.log(`${m.cpu} × ${m.cores}, ${m.ramGiB} GiB, Node ${m.node}, ${m.os}; load average ${loadAvg()}`);

  const old = existsSync(out) ? readFileSync(out, 'utf8') : '';
  const scale = args.quick ? 0.2 : args.scale || 1;
  // Durations of the previous full-size run; benchmarks never run before are guessed at half their time limit.
  const progress = createRunProgress(chosen.map((e) => e.id), previousSeconds(existsSync(join(ROOT, 'BENCHMARKS.md')) ? readFileSync(join(ROOT, 'BENCHMARKS.md'), 'utf8') : old, all.map((e) => e.id)), {
    scale,
    fallbackS: (id) => (all.find((e) => e.id === id)?.timeoutMs ?? 120_000) / 2000,
  });
  const fresh = new Map<string, string>();
  let failed = 0;
  for (const e of chosen) {
    const loadBefore = loadAvg();
    console.log(`\n${progress.starting(e.id)}  (${e.file})`);
    const r = await runOne(e, scale);
    const note = args.quick ? ' **Quick run (budgets × 0.2): not representative.**' : scale < 1 ? ` **Scaled run (budgets × ${scale}).**` : '';
    const line = runLine({ date: new Date(), command, seconds: r.seconds, m, loadBefore, loadAfter: loadAvg() }) + note;
    if (r.result) {
      fresh.set(e.id, renderResult(r.result, line));
      for (const p of r.result.problems ?? []) console.error(`\n!!! ${e.id}: PROBLEM: ${p}\n`);
      if (r.result.problems?.length) failed++;
      console.log(progress.finished(e.id, r.seconds, r.result.problems?.length ? 'done with problems' : 'done'));
    } else {
      failed++;
      console.error(`\n!!! ${e.id} FAILED: ${r.error}\n`);
      console.log(progress.finished(e.id, r.seconds, 'failed'));
      fresh.set(e.id, `## ${e.id}\n\n${line}\n\n> **FAILED** in this run: ${(r.error ?? '').split('\n')[0]}`);
    }
  }

  const header = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench` (bench/run.ts; how each number is obtained is under its table). Regenerate all with',
    '`npm run bench`, or only some sections with `npm run bench -- --only ingest,event-loop` (ids: ' + all.map((e) => `\`${e.id}\``).join(', ') + ');',
    'sections not run keep their previous numbers and say when they were made. Traffic stays on 127.0.0.1.',
    '',
    `Last run: ${date.toISOString().slice(0, 16).replace('T', ' ')} UTC, \`${command}\`.`,
    '',
    machineTable(m),
    '',
    'Each section gives the load average before and after it ran: on this 2-core machine, shared with other work, a load',
    'above ~1 means something else competed for the CPU and the numbers are lower than the code can do.',
  ].join('\n');
  writeFileSync(out, mergeDocument(old, header, fresh, all.map((e) => e.id)) );
  console.log(`\nwrote ${out}${failed ? `; ${failed} benchmark(s) failed or reported problems` : ''}`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
