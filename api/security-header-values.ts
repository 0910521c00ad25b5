// Answers echo ids a sender chose ("no policy <b>"): a browser must read them as the declared type (JSON), never
// sniff HTML out of them, and no other site may frame a page of either port. Plain values (no fastify), so the
// gateway worker sends the same headers as the API port (the web UI page sets its own, stricter policy).
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'content-security-policy': "frame-ancestors 'none'",
});
