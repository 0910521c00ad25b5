import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ClickHouse } from './port.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/** Reads the numbered `NNNN_name.sql` files, in order. */
export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      statements: splitStatements(await readFile(dir + file, 'utf8')),
    })),
  );
}

function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}

/** Applies every migration not yet recorded. Statements are idempotent, so a crash mid-migration is safe to rerun. */
export async function migrate(store: ClickHouse, migrations?: Migration[]): Promise<number[]> {
  const all = migrations ?? (await loadMigrations());
  const ledger = store.table('schema_migrations');
  await store.command(
    `CREATE TABLE IF NOT EXISTS ${ledger} (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY version`,
  );
  const done = new Set((await store.query<{ version: number }>(`SELECT version FROM ${ledger} FINAL`)).map((r) => r.version));
  const applied: number[] = [];
  for (const m of all) {
    if (done.has(m.version)) continue;
    for (const statement of m.statements) {
      await store.command(statement.replaceAll('{{db}}', '`' + store.database + '`'), undefined, { tag: `migration ${m.version}` });
    }
    await store.insert('schema_migrations', [{ version: m.version, name: m.name }]);
    applied.push(m.version);
  }
  return applied;
}

/** True when every known migration has been applied (readiness). */
export async function isMigrated(store: ClickHouse): Promise<boolean> {
  const all = await loadMigrations();
  try {
    const rows = await store.query<{ n: number }>(
      `SELECT count() AS n FROM ${store.table('schema_migrations')} FINAL WHERE version IN {v:Array(UInt32)}`,
      { v: all.map((m) => m.version) },
    );
    return rows[0]?.n === all.length;
  } catch {
    return false;
  }
}
