import { createNotifier, type Notifier } from '../detector/alerts/notifier.ts';
import { createBus, type Bus } from '../detector/bus.ts';
import { createOutboxRepo } from '../store/outbox-repo.ts';
import { spendSeries } from '../store/spend-series.ts';
import { alertSettings } from './alerts-config.ts';
import type { Wiring } from './wiring.ts';

/** The detector's event bus: every event is logged, and outbound alerts (webhooks, chat, email) are sent from it. */
export async function wireAlerts(w: Wiring): Promise<{ bus: Bus; notifier: Notifier }> {
  const { store, logger } = w;
  const bus = createBus([(events) => { for (const e of events) logger.info({ event: e.type, data: e.data }, e.data.reason); }]);
  const notifier = createNotifier({
    settings: alertSettings(w.config, () => w.links.apiBase),
    repo: createOutboxRepo(store),
    spend: (kind, id, from, to, bucketMs) => spendSeries(store, { kind, id, from, to, bucketMs }),
    logger: logger.child({ component: 'alerts' }),
    now: w.now,
  });
  await notifier.start();
  bus.subscribe((events) => notifier.onEvents(events));
  w.cleanups.unshift(() => notifier.close());
  return { bus, notifier };
}
