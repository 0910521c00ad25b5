import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const ROOT = new URL('../../', import.meta.url).pathname;
/** tsx's loader by its path: the CLI runs in a fresh directory, where `--import tsx` would not resolve. */
const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

/**
 * Runs the real CLI (`bin/tollkeeper.ts`, node with tsx's loader, as `npm start` runs it) in a fresh working
 * directory; killed after `killAfterMs` (50 s) as a guard against a hang. Not through the `tsx` binary: it relays a
 * signal to its node child and SIGKILLs that child when the child's acknowledgement takes over 30 ms, which a loaded
 * machine exceeds (a SIGINT test once saw tollkeeper killed instead of stopped).
 */
export function cli(
  args: string[],
  env: Record<string, string> = {},
  onStdout?: (text: string, child: ReturnType<typeof spawn>) => void,
  killAfterMs = 50_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, join(ROOT, 'bin/tollkeeper.ts'), ...args], {
      cwd: mkdtempSync(join(tmpdir(), 'tk-cli-')),
      // The embedded store unless the test names a server itself (a developer's TOLLKEEPER_CLICKHOUSE_URL does not leak in).
      env: { ...process.env, TOLLKEEPER_CLICKHOUSE_URL: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
