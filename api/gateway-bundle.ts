import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// The gateway worker's code: its module graph bundled by esbuild once per process, in memory (like the web UI's
// script), so a worker starts (and restarts) in milliseconds without a TypeScript loader of its own.
let bundled: Promise<string> | undefined;
export function gatewayWorkerCode(): Promise<string> {
  bundled ??= build({
    entryPoints: [fileURLToPath(new URL('./gateway-worker.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    // A function around it: the worker runs it as a script, whose top-level names would otherwise be globals
    // (a bundled `Function` would replace the global one).
    format: 'iife',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  }).then((r) => r.outputFiles[0]!.text);
  return bundled;
}
