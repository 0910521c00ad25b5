// The documentation as a newcomer uses it: every config snippet in README.md and docs/ is accepted by the config
// parser as written, every repo-relative link (and #anchor) leads somewhere, and docs/README.md indexes every page.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../core/config/load.ts';
import { configSchema } from '../../core/config/schema.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

/** README.md, every folder README and every page under docs/ (repo-relative paths). */
function markdownFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.') || e.name === 'data' || e.name === 'coverage') continue;
      const p = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.md')) out.push(p);
    }
  };
  walk('');
  return out;
}

const withoutCode = (md: string) => md.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(md: string): Set<string> {
  const heads = md.replace(/```[\s\S]*?```/g, '').split('\n').filter((l) => /^#{1,6} /.test(l));
  return new Set(heads.map((h) => h.replace(/^#+ /, '').trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')));
}

/** A config holding `value` at a documented key (`a.b`, `list[].x`: a one-item list), and the key's path in errors. */
function placed(key: string, value: unknown): { config: Record<string, unknown>; at: string } {
  const config: Record<string, unknown> = {};
  let node = config;
  const at: string[] = [];
  const parts = key.split('.');
  parts.forEach((part, i) => {
    const list = part.endsWith('[]');
    const name = list ? part.slice(0, -2) : part;
    at.push(list ? `${name}[0]` : name);
    const last = i === parts.length - 1;
    if (last) node[name] = list ? [value] : value;
    else {
      const child: Record<string, unknown> = {};
      node[name] = list ? [child] : child;
      node = child;
    }
  });
  return { config, at: at.join('.') };
}

describe('documentation', () => {
  const files = markdownFiles();

  it('every config snippet (a YAML block whose keys are config sections) passes the config parser as written', () => {
    const sections = Object.keys((configSchema as { properties: Record<string, unknown> }).properties);
    let checked = 0;
    for (const file of files.filter((f) => f === 'README.md' || f.startsWith('docs/'))) {
      const text = read(file);
      for (const m of text.matchAll(/```ya?ml\n([\s\S]*?)```/g)) {
        const body = m[1]!;
        const top = Object.keys((parse(body) as Record<string, unknown> | null) ?? {});
        const known = top.filter((k) => sections.includes(k));
        if (known.length === 0) continue; // not tollkeeper's config (a Prometheus scrape config, say)
        expect(top, `${file}: a snippet mixing config sections with other keys`).toEqual(known);
        // Ingest tokens named by token_env read their secret from that variable: give each one, as a user would.
        const env = Object.fromEntries([...body.matchAll(/token_env:\s*([A-Z0-9_]+)/g)].map((t) => [t[1]!, 'x'.repeat(32)]));
        const r = loadConfig({ fileText: body, source: file, env, flags: {} });
        expect(r.ok ? [] : r.errors, `${file}, snippet at offset ${m.index}`).toEqual([]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it('every example of docs/configuration.md is accepted at its key when written as YAML', () => {
    let checked = 0;
    const refused: string[] = [];
    for (const line of read('docs/configuration.md').split('\n')) {
      const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
      const key = /^`([a-z_.[\]]+)`$/.exec(cells[1] ?? '')?.[1];
      const example = /^`([^`]+)`$/.exec(cells[5] ?? '')?.[1];
      if (!key || example === undefined) continue; // prose examples ("one of three", a list of forms) are not values
      const { config, at } = placed(key, parse(example) as unknown);
      // token_env names a variable: set it, as a user would.
      const env = key.endsWith('token_env') ? { [String(example)]: 'x'.repeat(32) } : {};
      const r = loadConfig({ source: 'doc', fileText: JSON.stringify(config), env, flags: {} });
      // Only problems at this key count: its siblings (a policy's other required keys) are not in the example.
      const mine = r.ok ? [] : r.errors.filter((e) => e.startsWith(`doc: ${at}:`) || e.startsWith(`doc: ${at}.`));
      refused.push(...mine.map((e) => `${key} = ${example}: ${e}`));
      checked++;
    }
    expect(refused).toEqual([]);
    expect(checked).toBeGreaterThan(100);
  });

  it('every repo-relative Markdown link leads to a file, and every #anchor to a heading', () => {
    const broken: string[] = [];
    let links = 0;
    for (const file of files) {
      for (const m of withoutCode(read(file)).matchAll(/\]\(([^)\s]+)\)/g)) {
        const href = m[1]!;
        if (/^[a-z]+:/i.test(href)) continue; // http(s), mailto: not ours to check offline
        links++;
        const [path, anchor] = href.split('#') as [string, string | undefined];
        const target = path ? resolve(dirname(join(ROOT, file)), path) : join(ROOT, file);
        if (!existsSync(target)) broken.push(`${file}: ${href} (no such file)`);
        else if (anchor && target.endsWith('.md') && !anchors(readFileSync(target, 'utf8')).has(anchor)) broken.push(`${file}: ${href} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
    expect(links).toBeGreaterThan(50);
  });

  it('docs/README.md links every page under docs/', () => {
    const index = read('docs/README.md');
    const pages = files.filter((f) => f.startsWith('docs/') && f !== 'docs/README.md').map((f) => relative('docs', f));
    expect(pages.filter((p) => !index.includes(`](${p})`))).toEqual([]);
  });
});
