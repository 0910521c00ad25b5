import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface Asset {
  body: Buffer;
  type: string;
}

/** The web UI's files by URL path: `/` (the page) and `/ui/app.js`, `/ui/app.css`. */
export type WebAssets = ReadonlyMap<string, Asset>;

/**
 * Bundles the web UI from its committed sources (TypeScript, CSS, uPlot) with esbuild, in memory. Nothing is
 * written to disk, so a fresh clone needs no build step and the bundle can never be stale; it takes a few
 * hundred milliseconds once per process.
 */
export async function buildWebAssets(): Promise<WebAssets> {
  const result = await build({
    entryPoints: { app: join(HERE, 'src/main.ts') },
    bundle: true,
    write: false,
    outdir: '/ui',
    format: 'iife',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const assets = new Map<string, Asset>();
  for (const f of result.outputFiles) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1);
    const type = name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
    assets.set(`/ui/${name}`, { body: Buffer.from(f.contents), type });
  }
  assets.set('/', { body: await readFile(join(HERE, 'index.html')), type: 'text/html; charset=utf-8' });
  return assets;
}

let cached: Promise<WebAssets> | undefined;

/** Built once per process on first use; a failed build is retried on the next request. */
export function webAssets(): Promise<WebAssets> {
  cached ??= buildWebAssets().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}
