import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;

/** Runs the real CLI (`bin/tollkeeper.ts` through tsx) in a fresh working directory; killed after `killAfterMs` (50 s) as a guard against a hang. */
export function cli(
  args: string[],
  env: Record<string, string> = {},
  onStdout?: (text: string, child: ReturnType<typeof spawn>) => void,
  killAfterMs = 50_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'bin/tollkeeper.ts'), ...args], {
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
