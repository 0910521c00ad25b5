import { readFileSync } from 'node:fs';
import type { Config } from '../core/config/load.ts';

/**
 * Timeouts and the connection cap of both listeners (OTLP and API). Without them, connections that never finish
 * their request hold a file descriptor each until the process runs out, and health checks, the revocation list
 * and the detector's store queries stop with them.
 */
export function connectionLimits(server: Config['server']) {
  const t = server.timeouts;
  return {
    /** The whole request (head and body) must arrive within this (node answers 408 and closes). */
    requestTimeout: t.request,
    /** Idle keep-alive connections close after this. */
    keepAliveTimeout: t.idle,
    /** A socket with no traffic either way closes after this (above the 60 s revocation long-poll). */
    connectionTimeout: t.socket,
    http: {
      headersTimeout: t.headers,
      // Node checks the header and request timeouts on this interval (30 s by default): late by at most this.
      connectionsCheckingInterval: Math.min(1000, t.headers),
    },
  };
}

/** The same limits as plain `node:http` server options (the gateway listener has no framework). */
export function httpLimits(server: Config['server']) {
  const l = connectionLimits(server);
  return {
    requestTimeout: l.requestTimeout,
    headersTimeout: l.http.headersTimeout,
    keepAliveTimeout: l.keepAliveTimeout,
    connectionTimeout: l.connectionTimeout,
    connectionsCheckingInterval: l.http.connectionsCheckingInterval,
  };
}

/** Soft limit on open files of this process, from /proc (undefined elsewhere). */
function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Connections per listener: as configured, else 8192 or what the open-file limit allows for two listeners with
 * 512 descriptors left for the store, the spool and logs. Past it a listener closes new connections at once.
 */
export function connectionCap(configured: number | undefined): number {
  if (configured !== undefined) return configured;
  const limit = openFileLimit();
  return limit === undefined ? 8192 : Math.max(64, Math.min(8192, Math.floor((limit - 512) / 2)));
}
