// Optional CPU profile of the timed part of a cell: BENCH_CPU_PROFILE=<dir> writes <dir>/<name>.cpuprofile
// (open in Chrome DevTools → Performance, or VS Code). Only the main thread: ClickHouse runs on its own threads.
import { writeFileSync, mkdirSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

export async function startCpuProfile(name: string): Promise<() => Promise<string | undefined>> {
  const dir = process.env.BENCH_CPU_PROFILE;
  if (!dir) return async () => undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    return file;
  };
}
