import type { BenchResult, Table } from './result.ts';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderTable(t: Table): string {
  const lines: string[] = [];
  if (t.caption) lines.push(`**${t.caption}**`, '');
  lines.push(`| ${t.columns.map(cell).join(' | ')} |`);
  lines.push(`|${t.columns.map((_, i) => (i === 0 ? '---' : '--:')).join('|')}|`);
  for (const r of t.rows) lines.push(`| ${r.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

/** The body of one benchmark's section: title, method, tables, notes. */
export function renderResult(r: BenchResult, runLine?: string): string {
  const parts = [`## ${r.title}`, ''];
  if (runLine) parts.push(runLine, '');
  parts.push(...r.method.map((m) => `- ${m}`), '');
  for (const t of r.tables) parts.push(renderTable(t), '');
  if (r.raw) parts.push('```', r.raw.trimEnd(), '```', '');
  for (const n of r.notes ?? []) parts.push(`> ${n}`, '');
  for (const p of r.problems ?? []) parts.push(`> **PROBLEM:** ${p}`, '');
  return parts.join('\n').trimEnd();
}

const OPEN = (id: string) => `<!-- bench:${id} -->`;
const CLOSE = (id: string) => `<!-- /bench:${id} -->`;
const SECTION = /<!-- bench:([a-z0-9-]+) -->\n([\s\S]*?)\n<!-- \/bench:\1 -->/g;

/** Sections of an existing BENCHMARKS.md, by id, in file order. */
export function parseSections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(SECTION)) out.set(m[1]!, m[2]!);
  return out;
}

/**
 * Rebuilds the file: header (always fresh), then one section per benchmark. Sections from this run replace
 * the old ones in place; old sections of benchmarks not run this time are kept; new ones follow in `order`.
 */
export function mergeDocument(old: string, header: string, fresh: Map<string, string>, order: readonly string[]): string {
  const previous = parseSections(old);
  const ids = [...previous.keys()];
  for (const id of order) if (fresh.has(id) && !ids.includes(id)) ids.push(id);
  // Registry order first, so a full run always yields the same layout; unknown ids keep their place after.
  const initial = [...ids];
  const rank = (id: string) => (order.includes(id) ? order.indexOf(id) : order.length + initial.indexOf(id));
  ids.sort((a, b) => rank(a) - rank(b));
  const body = ids.map((id) => `${OPEN(id)}\n${fresh.get(id) ?? previous.get(id) ?? ''}\n${CLOSE(id)}`);
  return [header.trimEnd(), '', ...body.flatMap((b) => [b, ''])].join('\n');
}
