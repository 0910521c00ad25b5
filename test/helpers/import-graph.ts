import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Every TypeScript module under `root` (build output, data and dependencies aside) and what it imports. */
export interface ImportGraph {
  /** Repo-relative module path → repo-relative paths of the modules it imports. */
  local: Map<string, string[]>;
  /** Repo-relative module path → package specifiers (npm and node: builtins). */
  external: Map<string, string[]>;
}

const SKIP = new Set(['node_modules', 'data', 'dist', 'coverage', '.scratch', '.git', 'fixtures']);

function modules(root: string, dir = root): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name) || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...modules(root, path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative(root, path));
  }
  return out;
}

// Static imports and re-exports (type-only ones included: a type cycle is still a cycle for the reader), side-effect
// imports and dynamic imports with a literal specifier.
const PATTERNS = [/^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/gm, /^\s*import\s*['"]([^'"]+)['"]/gm, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];

export function specifiers(source: string): string[] {
  const out = new Set<string>();
  for (const re of PATTERNS) for (const m of source.matchAll(re)) out.add(m[1]!);
  return [...out];
}

export function importGraph(root: string): ImportGraph {
  const local = new Map<string, string[]>();
  const external = new Map<string, string[]>();
  for (const file of modules(root)) {
    const specs = specifiers(readFileSync(join(root, file), 'utf8'));
    local.set(file, specs.filter((s) => s.startsWith('.')).map((s) => relative(root, resolve(root, dirname(file), s))));
    external.set(file, specs.filter((s) => !s.startsWith('.')));
  }
  return { local, external };
}

/** Groups of modules that import each other, directly or through others (strongly connected components, Tarjan). */
export function cycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  function visit(v: string): void {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(group.sort());
    }
  }
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** The top folder of a repo-relative path ('' for files at the root). */
export const folderOf = (path: string): string => (path.includes('/') ? path.slice(0, path.indexOf('/')) : '');

/** Folder → folders it imports from (itself excluded); `of` names a file's folder (default: its top folder). */
export function folderArrows(graph: ImportGraph, of: (path: string) => string = folderOf): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [file, deps] of graph.local) {
    const from = of(file);
    const set = out.get(from) ?? new Set<string>();
    for (const d of deps) if (of(d) !== from) set.add(of(d));
    out.set(from, set);
  }
  return out;
}
