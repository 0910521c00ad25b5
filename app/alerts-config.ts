import { createHash } from 'node:crypto';
import type { Config } from '../core/config/load.ts';
import type { AlertSettings } from '../detector/alerts/notifier.ts';

/** A subscriber without a name is known by a digest of its URL (stable across restarts, secret-free). */
export function subscriberId(url: string, name?: string): string {
  return name ?? 'wh_' + createHash('sha256').update(url).digest('hex').slice(0, 12);
}

/** The `alerts:` block as the notifier needs it; email is on only with an SMTP URL (file or TOLLKEEPER_SMTP_URL). */
export function alertSettings(config: Config, apiUrl: () => string): AlertSettings {
  const a = config.alerts;
  const e = a.email;
  return {
    // Messages link where people reach the API (a proxy's URL), not the address it listens on (0.0.0.0 in containers).
    apiUrl: () => a.public_url ?? config.server.public_url ?? apiUrl(),
    retry: { maxAttempts: a.delivery.max_attempts, initialMs: a.delivery.backoff, maxMs: a.delivery.max_backoff },
    webhooks: a.webhooks.map((w) => ({
      id: subscriberId(w.url, w.name),
      url: w.url,
      format: w.format,
      timeoutMs: w.timeout,
      ...(w.secret !== undefined ? { secret: w.secret } : {}),
      ...(w.events ? { events: w.events } : {}),
    })),
    ...(e?.smtp_url
      ? {
          email: {
            smtpUrl: e.smtp_url,
            from: e.from,
            to: e.to,
            routes: e.routes.map((r) => ({
              to: r.to,
              ...(r.policy !== undefined ? { policy: r.policy } : {}),
              ...(r.tenant !== undefined ? { tenant: r.tenant } : {}),
              ...(r.kind !== undefined ? { kind: r.kind } : {}),
              ...(r.severity !== undefined ? { severity: r.severity } : {}),
              ...(r.events !== undefined ? { events: r.events } : {}),
            })),
            cooldownMs: e.cooldown,
            chartHours: e.chart_hours,
            timeoutMs: e.timeout,
            ...(e.dashboard_url ? { dashboardUrl: e.dashboard_url } : {}),
          },
        }
      : {}),
  };
}
