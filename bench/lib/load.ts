import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Format } from './otlp-requests.ts';
import type { LoadCommand, LoadReply, LoadResult, LoadSpec, ProbeResult } from './load-client.ts';

const CLIENT = fileURLToPath(new URL('./load-client.ts', import.meta.url));

/** A load-generator or prober process (bench/lib/load-client.ts) driven over IPC. */
export class LoadClient {
  private readonly child: ChildProcess;
  private waiting: { type: LoadReply['type']; resolve: (m: LoadReply) => void; reject: (e: Error) => void } | undefined;
  private seq = 0;

  constructor(private readonly name: string) {
    this.child = fork(CLIENT, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: LoadReply) => {
      if (this.waiting?.type === m.type) {
        const w = this.waiting;
        this.waiting = undefined;
        w.resolve(m);
      }
    });
    this.child.on('exit', (code, signal) => {
      this.waiting?.reject(new Error(`${this.name} exited (${code ?? signal})`));
      this.waiting = undefined;
    });
  }

  /** The load process's id (to check its priority). */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  private ask<T extends LoadReply['type']>(cmd: LoadCommand, type: T): Promise<Extract<LoadReply, { type: T }>> {
    if (this.waiting) return Promise.reject(new Error(`${this.name}: one command at a time`));
    return new Promise((resolve, reject) => {
      this.waiting = { type, resolve: (m) => resolve(m as Extract<LoadReply, { type: T }>), reject };
      this.child.send(cmd);
    });
  }

  /** Builds the request templates up front, so that work is not timed. Returns bytes per request. */
  async prepare(format: Format, spans: number): Promise<number> {
    return (await this.ask({ type: 'prepare', format, spans }, 'prepared')).bytes;
  }

  /** Fires requests until the span budget or the time limit; request ids never repeat across calls. */
  async load(spec: Omit<LoadSpec, 'seqStart'>): Promise<LoadResult> {
    const { result } = await this.ask({ type: 'load', spec: { ...spec, seqStart: this.seq } }, 'loaded');
    this.seq = result.nextSeq;
    return result;
  }

  async startProbe(url: string, intervalMs: number): Promise<void> {
    await this.ask({ type: 'probe', url, intervalMs }, 'probing');
  }

  async stopProbe(): Promise<ProbeResult> {
    return (await this.ask({ type: 'probe-stop' }, 'probed')).result;
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
    if (this.child.exitCode === null && this.child.pid !== undefined) this.child.kill();
  }
}
