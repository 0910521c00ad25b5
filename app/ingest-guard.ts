import { isLoopbackHost } from '../core/ingest/loopback.ts';

/** The collector would accept usage from the network without a token (exit code 2: a configuration to fix). */
export class InsecureIngestError extends Error {
  constructor(host: string, port: number) {
    super(
      `refusing to start: the collector would listen on ${host}:${port} and accept usage from anyone who reaches it, ` +
        'without a token (anyone could then report usage for any API key and get it revoked). ' +
        'Fix: give services an ingest token (ingest.tokens in the config file, or auth.otlp_token / TOLLKEEPER_OTLP_TOKEN), ' +
        'or bind to 127.0.0.1 (--host 127.0.0.1), or, when something in front of it already authenticates senders, ' +
        'start with --insecure-ingest (ingest.insecure: true). See docs/threat-model.md.',
    );
    this.name = 'InsecureIngestError';
  }
}

/** Refuses a collector bound beyond loopback without ingest auth, unless the operator said it is meant. */
export function assertIngestGuarded(o: { host: string; port: number; tokenRequired: boolean; insecure: boolean }): void {
  if (o.tokenRequired || o.insecure || isLoopbackHost(o.host)) return;
  throw new InsecureIngestError(o.host, o.port);
}
