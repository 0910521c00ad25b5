import { createHmac } from 'node:crypto';

/** The keyed hash secret-bearing identity values are stored under (ingest) and looked up by (forward-auth). */
export function secretHasher(hashKey: string): (value: string) => string {
  return (value) => 'h:' + createHmac('sha256', hashKey).update(value).digest('hex').slice(0, 32);
}
