import { existsSync, readFileSync } from 'node:fs';
import { loadConfig, type Flags, type LoadResult } from '../core/config/load.ts';

export type { Config, Flags } from '../core/config/load.ts';
export { didYouMean } from '../core/schema/did-you-mean.ts';

/** Finds and reads the config file (flag, then TOLLKEEPER_CONFIG, then ./tollkeeper.yaml when present) and validates it. */
export function readConfig(flags: Flags, env: Record<string, string | undefined> = process.env): LoadResult {
  const explicit = flags.config ?? env.TOLLKEEPER_CONFIG;
  const path = explicit ?? (existsSync('tollkeeper.yaml') ? 'tollkeeper.yaml' : undefined);
  if (path === undefined) return loadConfig({ source: '(defaults)', env, flags });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, errors: [`${path}: cannot read config file (${code === 'ENOENT' ? 'no such file' : (code ?? String(err))})`] };
  }
  return loadConfig({ fileText: text, source: path, env, flags });
}
