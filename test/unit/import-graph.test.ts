import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import vitestConfig from '../../vitest.config.ts';
import { cycles, folderArrows, folderOf, importGraph, specifiers } from '../helpers/import-graph.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const graph = importGraph(ROOT);

/** Packages that would give core/ I/O, a clock or a framework: core stays pure (core/README.md). */
const IMPURE = /^(node:(fs|net|http|https|child_process|worker_threads|os|process|timers)(\/|$)|fastify|@fastify\/|@clickhouse\/|chdb|nodemailer|pino)/;

describe('import graph', () => {
  it('reads static, type-only, multi-line, side-effect and dynamic imports', () => {
    const src = `import { a } from './a.ts';\nimport type {\n  B,\n  C,\n} from "../b.ts";\nexport { d } from './d.ts';\nimport './side.ts';\nconst m = await import('./lazy.ts');\n// import { z } from './comment.ts' is not at a line start\n`;
    expect(specifiers(src).sort()).toEqual(['../b.ts', './a.ts', './d.ts', './lazy.ts', './side.ts']);
  });

  it('finds a cycle through three modules and none in a chain', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', []]]))).toEqual([]);
  });

  it('has no import cycles anywhere in the repository', () => {
    expect(graph.local.size).toBeGreaterThan(100);
    expect(cycles(graph.local)).toEqual([]);
  });

  it('keeps core/ pure: it imports only core/ and no I/O, framework or logger package', () => {
    const outside = [...graph.local].flatMap(([file, deps]) => (file.startsWith('core/') ? deps.filter((d) => !d.startsWith('core/')).map((d) => `${file} → ${d}`) : []));
    const impure = [...graph.external].flatMap(([file, specs]) => (file.startsWith('core/') ? specs.filter((s) => IMPURE.test(s)).map((s) => `${file} → ${s}`) : []));
    expect(outside).toEqual([]);
    expect(impure).toEqual([]);
  });

  it('lets the CLI talk only to the composition root: bin/ imports app/ and nothing else of ours', () => {
    expect([...(folderArrows(graph).get('bin') ?? [])]).toEqual(['app']);
  });

  it('has no circle between folders (data flows one way)', () => {
    // test/helpers is a library that benchmarks share with the tests (fixtures, receivers, NGINX), while tests
    // also test benchmark code: it is its own node, so bench → test/helpers and test → bench are no circle.
    const arrows = folderArrows(graph, (p) => (p.startsWith('test/helpers/') ? 'test/helpers' : folderOf(p)));
    const edges = new Map([...arrows].map(([k, v]) => [k, [...v]]));
    expect(cycles(edges)).toEqual([]);
  });
});

describe('project files', () => {
  /** A module is covered when tsconfig includes its top folder, or a folder on its way has a tsconfig of its own. */
  function ownTsconfig(file: string): boolean {
    for (let dir = dirname(file); dir !== '.' && dir !== ''; dir = dirname(dir)) if (existsSync(join(ROOT, dir, 'tsconfig.json'))) return true;
    return false;
  }

  it('type-checks every TypeScript module: tsconfig includes every folder that has one', () => {
    const include = (JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] }).include;
    const uncovered = [...graph.local.keys()].filter((f) => !include.includes(folderOf(f) || '*.ts') && !ownTsconfig(f));
    expect(uncovered).toEqual([]);
    // and no placeholder for a folder that is not there
    expect(include.filter((i) => i !== '*.ts' && !existsSync(join(ROOT, i)))).toEqual([]);
  });

  it('runs every test file: each lies under a folder a vitest project includes', () => {
    const globs = (vitestConfig.test?.projects as { test: { include: string[] } }[]).flatMap((p) => p.test.include);
    const dirs = globs.map((g) => g.replace(/\/\*\*\/\*\.test\.ts$/, '/'));
    expect(dirs.every((d) => !d.includes('*') && existsSync(join(ROOT, d)))).toBe(true);
    const tests = [...graph.local.keys()].filter((f) => f.endsWith('.test.ts'));
    expect(tests.length).toBeGreaterThan(20);
    expect(tests.filter((f) => !dirs.some((d) => f.startsWith(d)))).toEqual([]);
  });
});
