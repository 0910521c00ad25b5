import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  node: string;
  os: string;
}

function distro(): string {
  // node:os knows the kernel, not the distribution; /etc/os-release names it where it exists.
  if (!existsSync('/etc/os-release')) return '';
  const m = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
  return m?.[1] ?? '';
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    ramGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: [distro(), `${os.type()} ${os.release()} ${os.arch()}`].filter(Boolean).join(', '),
  };
}

export const loadAvg = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' / ');

export function machineTable(m: Machine): string {
  return [
    '| machine | |',
    '|---|---|',
    `| CPU | ${m.cpu} × ${m.cores} cores |`,
    `| RAM | ${m.ramGiB} GiB |`,
    `| Node | ${m.node} |`,
    `| OS | ${m.os} |`,
  ].join('\n');
}

/** One line for a section: when, how, on what, and how busy the machine was. */
export function runLine(o: { date: Date; command: string; seconds: number; m: Machine; loadBefore: string; loadAfter: string }): string {
  return (
    `_Run ${o.date.toISOString().slice(0, 16).replace('T', ' ')} UTC with \`${o.command}\` in ${Math.round(o.seconds)} s on ${o.m.cpu} × ${o.m.cores}, ` +
    `Node ${o.m.node}; load average (1/5/15 min) before ${o.loadBefore}, after ${o.loadAfter}._`
  );
}
