/**
 * JSON with object keys sorted at every depth: two bodies that mean the same (keys in another order, as another
 * client library serializes them) give the same text, so a retry is recognised as the same request.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
