import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every module reachable from a file through static and dynamic imports (relative ones followed). */
function walk(entry: string): { files: string[]; external: string[] } {
  const files = new Set<string>();
  const external = new Set<string>();
  const stack = [entry];
  while (stack.length) {
    const file = stack.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec));
      else external.add(spec);
    }
  }
  return { files: [...files].map((f) => relative(ROOT, f)).sort(), external: [...external].sort() };
}

describe('the gateway client is importable alone', () => {
  it('reaches only node: built-ins and the pure enforcement core', () => {
    const { files, external } = walk(join(ROOT, 'client/index.ts'));
    expect(files.every((f) => f.startsWith('client/') || f.startsWith('core/enforcement/'))).toBe(true);
    expect(files).toContain('client/revocation-poller.ts');
    expect(external.every((s) => s.startsWith('node:'))).toBe(true);
    expect(external).toContain('node:events');
  });

  it('loads by its package name in a fresh process without fastify, ClickHouse or chdb', () => {
    // A resolve hook records every module the import pulls in.
    const script = `
      import { register } from 'node:module';
      const seen = [];
      const { port1, port2 } = new MessageChannel();
      port1.on('message', (m) => seen.push(m));
      port1.unref();
      register('data:text/javascript,' + encodeURIComponent(\`
        let port;
        export function initialize(d) { port = d.port; }
        export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r; }
      \`), import.meta.url, { data: { port: port2 }, transferList: [port2] });
      const client = await import('tollkeeper/client');
      // Messages arrive in order: once the marker import's is in, every earlier one is too (bounded wait).
      await import('node:os');
      for (let i = 0; i < 100000 && !seen.includes('node:os'); i++) await new Promise((r) => setImmediate(r));
      console.log(JSON.stringify({ exports: Object.keys(client), modules: seen }));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    const { exports, modules } = JSON.parse(out.trim().split('\n').at(-1)!) as { exports: string[]; modules: string[] };
    expect(exports).toEqual(expect.arrayContaining(['createRevocationPoller', 'denialHeaders', 'decide']));
    expect(modules).toContain('node:os');
    expect(modules.some((m) => m.endsWith('/client/index.ts'))).toBe(true);
    expect(modules.some((m) => m.endsWith('/core/enforcement/decide.ts'))).toBe(true);
    expect(modules.filter((m) => /fastify|clickhouse|chdb|pino/i.test(m))).toEqual([]);
    // A fresh Node process with the TypeScript loader takes seconds on a busy machine, past the unit default of 5 s.
  }, 60_000);
});
