import { entityLink, h, table } from '../dom.ts';
import { formatTime } from '../format.ts';
import { errorText, type Ctx, type Page } from '../page.ts';
import type { Revocations } from '../types.ts';
import { enforcementBadge } from './common.ts';

/** The revocation list as gateways read it, with a restore button per entry. */
export function revocationsPage(ctx: Ctx): Page {
  const list = h('div', { id: 'revocation-list' });
  const version = h('p', { class: 'sub' });

  async function restore(kind: string, id: string): Promise<void> {
    try {
      await ctx.api.send('POST', '/v1/enforcement', { action: 'restore', kind, id, reason: 'restored from the web UI' });
      ctx.toast(`Restored ${kind} ${id}.`);
    } catch (err) {
      ctx.toast(`Could not restore ${kind} ${id}: ${errorText(err)}`);
    }
    ctx.refresh();
  }

  async function refresh(): Promise<void> {
    const r = await ctx.api.get<Revocations>('/v1/revocations');
    version.textContent = `List version ${r.version} · ${r.entries.length} entries · gateways read GET /v1/revocations`;
    list.replaceChildren(
      table('Revoked and throttled entities', ['Entity', 'State', 'Source', 'Reason', 'Since', 'Until', 'Action'],
        r.entries.map((e) => [
          entityLink(e.kind, e.id, `${e.kind} ${e.id}`),
          enforcementBadge(e),
          e.source + (e.ref && e.ref !== 'manual' ? ` (${e.ref})` : ''),
          e.reason,
          formatTime(e.created_at),
          e.expires_at ? formatTime(e.expires_at) : 'until restored',
          h('button', { type: 'button', class: 'small', 'aria-label': `Restore ${e.kind} ${e.id}`, onclick: () => void restore(e.kind, e.id) }, 'Restore'),
        ]),
        'Nothing is revoked or throttled.', { hideCaption: true }),
    );
  }

  const el = h('section', { class: 'page' }, h('h1', { tabindex: -1 }, 'Revocations'), version, h('section', { class: 'panel', 'aria-label': 'Revocation list' }, list));
  return { title: 'Revocations', el, refresh };
}
