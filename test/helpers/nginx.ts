import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.ts';

export const NGINX_CONF = fileURLToPath(new URL('../../docs/gateways/nginx.conf', import.meta.url));

/** The nginx binary, or undefined when none is installed. */
export function findNginx(): string | undefined {
  for (const candidate of ['nginx', '/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx']) {
    const r = spawnSync(candidate, ['-v'], { stdio: 'ignore' });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

export interface NginxPorts {
  listen: number;
  tollkeeper: number;
  upstream: number;
  gatewayToken: string;
  failMode: 'open' | 'closed';
}

/** docs/gateways/nginx.conf with its placeholders replaced; each must be found, so the documented file cannot drift. */
export function renderNginxConf(p: NginxPorts, prefix: string): string {
  let conf = readFileSync(NGINX_CONF, 'utf8');
  const replace = (from: string, to: string) => {
    if (!conf.includes(from)) throw new Error(`${NGINX_CONF}: expected to find ${JSON.stringify(from)}`);
    conf = conf.replaceAll(from, to);
  };
  replace('listen 127.0.0.1:8000;', `listen 127.0.0.1:${p.listen};`);
  replace('server 127.0.0.1:4320;', `server 127.0.0.1:${p.tollkeeper};`);
  replace('server 127.0.0.1:9000;', `server 127.0.0.1:${p.upstream};`);
  replace('"REPLACE_WITH_GATEWAY_TOKEN"', `"${p.gatewayToken}"`);
  replace('default open;', `default ${p.failMode};`);
  // Own temp paths (Debian's build points them at /var/lib/nginx).
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(prefix, 'tmp', t)};`).join('\n');
  replace('http {\n', `http {\n${temp}\n`);
  return conf;
}

/** Runs nginx in the foreground as a child process with its own prefix, pid file, logs and temp paths. */
export async function startNginx(bin: string, p: NginxPorts, o: { extraServer?: string } = {}): Promise<{ url: string; pid: number; stop: () => Promise<void>; log: () => string }> {
  const prefix = mkdtempSync(join(tmpdir(), 'tollkeeper-nginx-'));
  mkdirSync(join(prefix, 'tmp'), { recursive: true });
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  let text = renderNginxConf(p, prefix);
  if (o.extraServer) text = text.replace(/\}\s*$/, `  ${o.extraServer}\n}\n`);
  writeFileSync(conf, text);
  const errorLog = join(prefix, 'logs', 'error.log');
  const child: ChildProcess = spawn(bin, ['-p', prefix, '-c', conf, '-e', errorLog, '-g', `daemon off; pid ${join(prefix, 'nginx.pid')};`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => {
    let file = '';
    try {
      file = readFileSync(errorLog, 'utf8');
    } catch {
      // not written yet
    }
    return `${stderr}\n${file}`.trim();
  };
  const url = `http://127.0.0.1:${p.listen}`;
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${log()}`);
        const res = await fetch(`${url}/__nginx_up`, { method: 'GET' });
        await res.body?.cancel();
        return true;
      },
      { what: 'nginx listening', timeoutMs: 10_000 },
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    // The master process (its workers are its children and share its priority).
    pid: child.pid ?? 0,
    log,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
