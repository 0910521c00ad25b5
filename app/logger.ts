import { pino, type Logger } from 'pino';

/** The one logger: JSON lines, secrets redacted. */
export function createLogger(level = process.env.TOLLKEEPER_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.admin_token', '*.gateway_token', '*.otlp_token', '*.password', '*.secret', '*.smtp_url', 'config.auth'],
      censor: '[redacted]',
    },
  });
}
