import { ApiError } from '../api.ts';
import { field, h, table } from '../dom.ts';
import { formatCount, formatTime } from '../format.ts';
import { errorText, type Ctx, type Page } from '../page.ts';
import type { PolicyView, ReplayResult } from '../types.ts';
import { policyFields } from './policy-fields.ts';

const WEEK = 7 * 86_400_000;

/** "What would this policy have done last week?": a policy (new or changed) over stored usage, acting on nothing. */
export function replayPage(ctx: Ctx, params: readonly string[]): Page {
  const fields = policyFields();
  const start = h('select', { name: 'start_from' }, h('option', { value: '' }, 'A blank policy'));
  const startField = field('Start from', start, 'Fill the fields from an existing policy, then change what you want to try.');
  const now = Date.now();
  const from = field('From (UTC)', h('input', { type: 'text', name: 'from', value: new Date(now - WEEK).toISOString().slice(0, 16) + 'Z' }), 'ISO 8601, e.g. 2026-11-26T00:00Z');
  const to = field('To (UTC)', h('input', { type: 'text', name: 'to', value: new Date(now).toISOString().slice(0, 16) + 'Z' }));
  const step = field('Tick', h('select', { name: 'step' }, ['5m', '15m', '1h', '6h'].map((s) => h('option', { value: s, selected: s === '1h' }, s))), 'How often the simulated detector checks.');
  const anomaly = h('input', { type: 'checkbox', name: 'anomaly', id: 'replay-anomaly' });
  const run = h('button', { type: 'submit', class: 'primary' }, 'Run replay');
  const rangeError = h('div', { class: 'form-error', role: 'alert' });
  const results = h('section', { class: 'panel', 'aria-labelledby': 'replay-results', 'aria-busy': 'false' }, h('h2', { id: 'replay-results' }, 'Results'), h('p', { class: 'sub' }, 'Run a replay to see what would have fired, and when.'));

  let policies: PolicyView[] = [];
  ctx.api.get<{ policies: PolicyView[] }>('/api/policies').then(
    (r) => {
      policies = r.policies;
      start.append(...policies.map((p) => h('option', { value: p.name }, p.name)));
      // `#/replay/<name>` (the Replay button of the policy list) starts from that policy.
      if (params[0] && policies.some((p) => p.name === params[0])) {
        start.value = params[0];
        start.dispatchEvent(new Event('change'));
      }
    },
    (err: unknown) => (startField.error.textContent = `Cannot list policies: ${errorText(err)}`),
  );
  start.addEventListener('change', () => {
    const p = policies.find((x) => x.name === start.value);
    if (p) fields.fill({ ...p.policy, name: `${p.name}-trial` });
  });

  const form = h('form', { class: 'policy-form', novalidate: true, 'aria-label': 'Replay a policy' },
    startField.row,
    fields.el,
    h('fieldset', null, h('legend', null, 'Over'), rangeError, h('div', { class: 'grid3' }, from.row, to.row, step.row),
      h('div', { class: 'check' }, anomaly, h('label', { for: 'replay-anomaly' }, 'Also replay anomaly detection (slower)'))),
    h('div', { class: 'form-actions' }, run));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    fields.clearErrors();
    rangeError.replaceChildren();
    run.disabled = true;
    results.setAttribute('aria-busy', 'true');
    const body = { policy: fields.read(), from: from.control.value.trim(), to: to.control.value.trim(), step: step.control.value, anomaly: anomaly.checked };
    ctx.api.send<ReplayResult>('POST', '/api/replay', body).then(
      (r) => {
        results.replaceChildren(
          h('h2', { id: 'replay-results', tabindex: -1 }, 'Results'),
          h('p', { id: 'replay-summary' }, `${formatCount(r.findings.length)} findings over ${formatCount(r.ticks)} ticks for ${r.policies.join(', ')}. Nothing was acted on.`),
          table('Replay findings', ['When', 'Source', 'Policy or pattern', 'Entity', 'Level', 'Action', 'Detail'],
            r.findings.map((x) => [formatTime(x.at), x.source, x.what, x.entity, x.level, x.action, x.detail]), 'Nothing would have fired.', { hideCaption: true }),
        );
        (results.querySelector('h2') as HTMLElement).focus();
      },
      (err: unknown) => {
        const b = err instanceof ApiError ? err.body : null;
        const all = b?.errors ?? [b?.message ?? errorText(err)];
        // Problems with the policy go next to its fields; the rest (range, tick) above the range.
        const aboutPolicy = (e: string) => b?.error === 'invalid_policy' || e.startsWith('body.policy');
        if (all.some(aboutPolicy)) fields.showErrors(all.filter(aboutPolicy), 'Not run');
        const rest = all.filter((e) => !aboutPolicy(e));
        rangeError.replaceChildren(...rest.map((e) => h('p', null, e)));
      },
    ).finally(() => {
      run.disabled = false;
      results.setAttribute('aria-busy', 'false');
    });
  });

  const el = h('section', { class: 'page' },
    h('h1', { tabindex: -1 }, 'Replay'),
    h('p', { class: 'lede' }, 'What would this policy have done last week? The replay runs the policy over stored usage as the detector would have, and acts on nothing.'),
    form, results);
  return { title: 'Replay', el };
}
