import type { FastifyBaseLogger } from 'fastify';

/**
 * Route option `childLoggerFactory` for the routes gateways call thousands of times a second (revocation list,
 * forward-auth): the app's logger itself instead of a pino child per request. A child (with redaction) cost more
 * than the rest of a 304 answer, and a route `logLevel` makes it worse (pino rebuilds the child's methods).
 * Errors are still logged, without a request id.
 */
export const sameLogger = (logger: FastifyBaseLogger): FastifyBaseLogger => logger;
