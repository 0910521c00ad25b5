import { pino, type DestinationStream, type Logger } from 'pino';

/** Keys whose values are secret, at the depths the config and its parts are logged with. */
const SECRET_KEYS = ['admin_token', 'gateway_token', 'otlp_token', 'metrics_token', 'hash_key', 'password', 'secret', 'smtp_url'];

const REDACT = [
  'req.headers.authorization',
  'headers.authorization',
  'config.auth',
  ...SECRET_KEYS.flatMap((k) => [`*.${k}`, `*.*.${k}`, `*.*.*.${k}`]),
  // Webhook subscribers are a list: alerts.webhooks[n].secret, under a config or on their own.
  '*.webhooks[*].secret',
  '*.*.webhooks[*].secret',
  'webhooks[*].secret',
  // Ingest tokens: ingest.tokens[n].token.
  '*.tokens[*].token',
  '*.*.tokens[*].token',
];

/** The one logger: JSON lines, secrets redacted wherever the config (or a part of it) is logged. */
export function createLogger(level = process.env.TOLLKEEPER_LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
