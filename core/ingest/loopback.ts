const octet = (s: string) => /^\d{1,3}$/.test(s) && Number(s) <= 255;

/** A dotted IPv4 address in 127.0.0.0/8. */
function isLoopbackV4(h: string): boolean {
  const parts = h.split('.');
  return parts.length === 4 && parts[0] === '127' && parts.every(octet);
}

/**
 * Whether a bind address reaches only this machine: `localhost`, 127.0.0.0/8, `::1` (also written in full or in
 * brackets) and 127.x mapped into IPv6. Anything else, a host name included (it may resolve to any interface), is
 * reachable from the network.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isLoopbackV4(h)) return true;
  if (h.startsWith('::ffff:')) return isLoopbackV4(h.slice(7));
  return isLoopbackV6(h);
}

/** `::1` in any spelling: eight groups (after `::` is filled in), all zero but the last, which is 1. */
function isLoopbackV6(h: string): boolean {
  const halves = h.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  if (head.length + tail.length > 7 && halves.length === 2) return false;
  const all = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  if (all.length !== 8 || !all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return false;
  return all.slice(0, 7).every((g) => Number.parseInt(g, 16) === 0) && Number.parseInt(all[7]!, 16) === 1;
}
