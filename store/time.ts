/** ClickHouse DateTime64(3) text for epoch milliseconds (a JS Date parameter would lose the milliseconds). */
export function chTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
}

/** Epoch milliseconds from ClickHouse DateTime/DateTime64 text in UTC. */
export function fromChTime(s: string): number {
  return Date.parse(s.replace(' ', 'T') + (s.endsWith('Z') ? '' : 'Z'));
}
