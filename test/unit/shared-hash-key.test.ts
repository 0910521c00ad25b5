// Which processes must be given identity.hash_key: a collector or detector on a ClickHouse server that hashes secret
// attributes (its siblings must hash alike); one process, or the embedded engine, keeps its generated key.
import { describe, expect, it } from 'vitest';
import { assertSharedHashKey, UnsharedHashKeyError } from '../../app/tokens.ts';

const base = { server: true, secretAttributes: ['api_key.secret'], hashKey: undefined, dataDir: '/data' };

describe('assertSharedHashKey', () => {
  it('refuses a collector or detector on a server with secret attributes and no configured key', () => {
    for (const role of ['collector', 'detector']) {
      expect(() => assertSharedHashKey({ ...base, role })).toThrow(UnsharedHashKeyError);
      expect(() => assertSharedHashKey({ ...base, role })).toThrow(/identity\.hash_key.*\/data\/tokens\.json/s);
    }
  });

  it('lets every other case start', () => {
    expect(() => assertSharedHashKey({ ...base, role: 'all' })).not.toThrow();
    expect(() => assertSharedHashKey({ ...base, role: 'collector', server: false })).not.toThrow();
    expect(() => assertSharedHashKey({ ...base, role: 'detector', secretAttributes: [] })).not.toThrow();
    expect(() => assertSharedHashKey({ ...base, role: 'collector', hashKey: 'a-shared-key-of-16+' })).not.toThrow();
  });
});
