import { describe, expect, it } from 'vitest';
import { Turns } from '../../collector/turns.ts';

/** Three holders queue at once; each logs its turn and, during it, schedules "I/O" (a setImmediate callback). */
async function run(turns: Turns): Promise<string[]> {
  const log: string[] = [];
  const holder = async (name: string) => {
    await turns.acquire();
    log.push(`${name} runs`);
    setImmediate(() => log.push(`io during ${name}`));
    turns.release();
  };
  await Promise.all(['a', 'b', 'c'].map(holder));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return log;
}

describe('Turns', () => {
  it('lets I/O in between holders once the slice is spent', async () => {
    const log = await run(new Turns(0));
    expect(log.slice(0, 5)).toEqual(['a runs', 'io during a', 'b runs', 'io during b', 'c runs']);
  });

  it('hands over directly within the slice, in arrival order', async () => {
    const log = await run(new Turns(60_000));
    expect(log.slice(0, 3)).toEqual(['a runs', 'b runs', 'c runs']);
  });

  it('is entered at once when idle, and idle again after the last release', async () => {
    const turns = new Turns(0);
    await turns.acquire();
    turns.release();
    await new Promise((resolve) => setImmediate(resolve));
    let entered = false;
    void turns.acquire().then(() => (entered = true));
    await Promise.resolve();
    expect(entered).toBe(true);
    expect(turns.queued).toBe(0);
  });
});
