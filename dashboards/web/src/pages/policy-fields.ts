import { field, h } from '../dom.ts';
import { DIMENSION_LABELS } from '../format.ts';
import type { PolicyInput } from '../types.ts';

export const DIMENSIONS = ['cost_usd', 'tokens', 'input_tokens', 'output_tokens', 'reasoning_tokens', 'cached_tokens', 'cache_write_tokens', 'requests', 'tool_calls', 'compute_hours'] as const;
const KINDS = ['api_key', 'user', 'tenant', 'agent', 'conversation', 'service'];

type Control = HTMLInputElement | HTMLSelectElement;
interface Field {
  row: HTMLElement;
  error: HTMLElement;
  control: Control;
}

/** A number from a text box; anything else is sent as typed, so the server's message names the real value. */
function num(s: string): number | string {
  const t = s.trim();
  return t !== '' && Number.isFinite(Number(t)) ? Number(t) : t;
}

function input(name: string, attrs: Record<string, string> = {}): HTMLInputElement {
  return h('input', { type: 'text', name, autocomplete: 'off', ...attrs });
}

/**
 * The fields of a policy, in the shape the admin API takes. Validation is the server's: its messages are shown
 * next to the field they name (`limits.cost_usd: …` under the cost limit).
 */
export function policyFields(opts: { editing?: boolean } = {}) {
  const f: Record<string, Field> = {};
  const add = (key: string, label: string, control: Control, hint?: string) => (f[key] = field(label, control, hint));

  add('name', 'Name', input('name', { required: '' }), 'Letters, digits and _ . : - (it cannot be changed later).');
  if (opts.editing) (f.name!.control as HTMLInputElement).readOnly = true;
  const kinds = h('datalist', { id: 'scope-kinds' }, KINDS.map((k) => h('option', { value: k })));
  add('scope', 'Scope', input('scope', { list: 'scope-kinds', value: 'api_key' }), 'An entity kind (api_key, user, tenant, agent, conversation, service) or an attribute name.');
  add('match', 'Match (optional)', input('match', { placeholder: 'plan=free, region=eu' }), 'Only usage whose fields or attributes have these values.');
  const periodType = h('select', { name: 'period_type' }, h('option', { value: 'calendar' }, 'Calendar period'), h('option', { value: 'billing_cycle' }, 'Billing cycle'), h('option', { value: 'rolling' }, 'Rolling window'));
  add('period', 'Kind of period', periodType);
  add('calendar', 'Calendar unit', h('select', { name: 'calendar' }, ['hour', 'day', 'week', 'month'].map((u) => h('option', { value: u, selected: u === 'day' }, u))));
  add('anchor', 'Billing cycle anchor', input('anchor', { placeholder: '2026-01-31' }), 'The day the cycle restarts each month (month-end anchors clamp).');
  add('timezone', 'Time zone', input('timezone', { value: 'UTC' }), 'An IANA name, e.g. UTC or Europe/Berlin.');
  add('rolling', 'Window length', input('rolling', { placeholder: '24h' }), 'A duration such as 1h, 24h or 30d.');
  for (const d of DIMENSIONS) add(`limits.${d}`, DIMENSION_LABELS[d]!, input(`limit_${d}`, { inputmode: 'decimal' }));
  add('thresholds', 'Thresholds', input('thresholds', { value: '0.5, 0.8, 1' }), 'Fractions of the limit that alert; 1 is the hard limit that triggers the action.');
  const action = h('select', { name: 'action' }, h('option', { value: 'alert' }, 'Alert only'), h('option', { value: 'revoke' }, 'Revoke until the period ends'), h('option', { value: 'throttle' }, 'Throttle until the period ends'));
  add('action', 'At the hard limit', action);
  add('action.throttle.requests_per_minute', 'Requests per minute', input('rpm', { inputmode: 'numeric' }));
  add('action.throttle.tokens_per_minute', 'Tokens per minute', input('tpm', { inputmode: 'numeric' }));

  const limitsError = h('p', { class: 'field-error', id: 'limits-error', 'aria-live': 'polite' });
  const formError = h('div', { class: 'form-error', role: 'alert' });

  function sync(): void {
    const p = periodType.value;
    f.calendar!.row.hidden = p !== 'calendar';
    f.anchor!.row.hidden = p !== 'billing_cycle';
    f.timezone!.row.hidden = p === 'rolling';
    f.rolling!.row.hidden = p !== 'rolling';
    const t = action.value === 'throttle';
    f['action.throttle.requests_per_minute']!.row.hidden = !t;
    f['action.throttle.tokens_per_minute']!.row.hidden = !t;
  }
  periodType.addEventListener('change', sync);
  action.addEventListener('change', sync);
  sync();

  const el = h('div', { class: 'policy-fields' },
    formError,
    h('div', { class: 'grid2' }, f.name!.row, f.scope!.row), kinds,
    f.match!.row,
    h('fieldset', null, h('legend', null, 'Period'), h('div', { class: 'grid3' }, f.period!.row, f.calendar!.row, f.anchor!.row, f.rolling!.row, f.timezone!.row)),
    h('fieldset', { 'aria-describedby': 'limits-error' }, h('legend', null, 'Limits (leave empty for no limit; the quota is exceeded when any one is)'), limitsError,
      h('div', { class: 'grid5' }, DIMENSIONS.map((d) => f[`limits.${d}`]!.row))),
    h('fieldset', null, h('legend', null, 'Alerts and action'), h('div', { class: 'grid3' }, f.thresholds!.row, f.action!.row, f['action.throttle.requests_per_minute']!.row, f['action.throttle.tokens_per_minute']!.row)),
  );

  const val = (k: string) => f[k]!.control.value.trim();

  function read(): Record<string, unknown> {
    const match: Record<string, string> = {};
    for (const part of val('match').split(',').map((s) => s.trim()).filter(Boolean)) {
      const i = part.indexOf('=');
      match[i < 0 ? part : part.slice(0, i).trim()] = i < 0 ? '' : part.slice(i + 1).trim();
    }
    const p = periodType.value;
    const tz = val('timezone') || 'UTC';
    const period = p === 'calendar' ? { calendar: val('calendar'), timezone: tz } : p === 'billing_cycle' ? { billing_cycle: { anchor: val('anchor'), timezone: tz } } : { rolling: val('rolling') };
    const limits: Record<string, number | string> = {};
    for (const d of DIMENSIONS) if (val(`limits.${d}`) !== '') limits[d] = num(val(`limits.${d}`));
    const thresholds = val('thresholds') === '' ? undefined : val('thresholds').split(/[\s,]+/).filter(Boolean).map(num);
    let act: unknown = action.value;
    if (action.value === 'throttle') {
      const rpm = val('action.throttle.requests_per_minute');
      const tpm = val('action.throttle.tokens_per_minute');
      act = { throttle: { ...(rpm ? { requests_per_minute: num(rpm) } : {}), ...(tpm ? { tokens_per_minute: num(tpm) } : {}) } };
    }
    return { name: val('name'), scope: val('scope'), ...(Object.keys(match).length ? { match } : {}), period, limits, ...(thresholds ? { thresholds } : {}), action: act };
  }

  function fill(p: PolicyInput): void {
    const set = (k: string, v: string | number | undefined | null) => (f[k]!.control.value = v === undefined || v === null ? '' : String(v));
    set('name', p.name);
    set('scope', p.scope);
    set('match', Object.entries(p.match ?? {}).map(([k, v]) => `${k}=${v}`).join(', '));
    const period = (p.period ?? { calendar: 'day', timezone: 'UTC' }) as { calendar?: string; timezone?: string; billing_cycle?: { anchor: string; timezone: string }; rolling?: string };
    periodType.value = period.billing_cycle ? 'billing_cycle' : period.rolling ? 'rolling' : 'calendar';
    set('calendar', period.calendar ?? 'day');
    set('anchor', period.billing_cycle?.anchor ?? '');
    set('timezone', period.billing_cycle?.timezone ?? period.timezone ?? 'UTC');
    set('rolling', period.rolling ?? '');
    for (const d of DIMENSIONS) set(`limits.${d}`, p.limits[d]);
    set('thresholds', (p.thresholds ?? [0.5, 0.8, 1]).join(', '));
    const a = p.action as string | { throttle?: { requests_per_minute?: number; tokens_per_minute?: number } } | undefined;
    action.value = typeof a === 'string' ? a : a?.throttle ? 'throttle' : 'alert';
    set('action.throttle.requests_per_minute', typeof a === 'object' ? a.throttle?.requests_per_minute : '');
    set('action.throttle.tokens_per_minute', typeof a === 'object' ? a.throttle?.tokens_per_minute : '');
    sync();
  }

  function clearErrors(): void {
    formError.replaceChildren();
    limitsError.textContent = '';
    for (const x of Object.values(f)) {
      x.error.textContent = '';
      x.control.removeAttribute('aria-invalid');
    }
  }

  /** Which field a server message is about, from its leading path (`period.billing_cycle.timezone: …`). */
  function fieldFor(path: string): Field | 'limits' | null {
    if (f[path]) return f[path];
    const [head, ...rest] = path.replace(/\[\d+\]/g, '').split('.');
    if (head === 'limits') return rest[0] && f[`limits.${rest[0]}`] ? f[`limits.${rest[0]}`]! : 'limits';
    if (head === 'period') {
      const leaf = rest.at(-1);
      if (leaf === 'timezone') return f.timezone!;
      if (leaf === 'anchor') return f.anchor!;
      if (leaf === 'rolling' || leaf === 'calendar') return f[leaf]!;
      return f.period!;
    }
    if (head === 'action') return rest.at(-1) === 'requests_per_minute' || rest.at(-1) === 'tokens_per_minute' ? f[`action.throttle.${rest.at(-1)}`]! : f.action!;
    return head && f[head] ? f[head] : null;
  }

  /** Puts each message next to its field and focuses the first; returns how many there were. */
  function showErrors(errors: readonly string[], outcome = 'Not saved'): number {
    clearErrors();
    const general: string[] = [];
    let first: HTMLElement | null = null;
    for (const e of errors) {
      const i = e.indexOf(': ');
      // The API names paths from the request (`body.policy.limits.cost_usd`); the fields are the policy's own.
      const target = i > 0 ? fieldFor(e.slice(0, i).replace(/^body\.(policy\.)?/, '')) : null;
      const message = i > 0 ? e.slice(i + 2) : e;
      if (target === 'limits') {
        limitsError.textContent = message;
        first ??= f['limits.cost_usd']!.control;
      } else if (target) {
        target.error.textContent = target.error.textContent ? `${target.error.textContent} ${message}` : message;
        target.control.setAttribute('aria-invalid', 'true');
        first ??= target.control;
      } else general.push(e);
    }
    formError.replaceChildren(h('p', null, `${outcome}: ${errors.length === 1 ? 'one problem' : `${errors.length} problems`} to fix.`), ...general.map((g) => h('p', null, g)));
    first?.focus();
    return errors.length;
  }

  return { el, read, fill, showErrors, clearErrors };
}
