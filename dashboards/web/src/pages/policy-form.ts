import { ApiError } from '../api.ts';
import { h } from '../dom.ts';
import { errorText, type Ctx, type Page } from '../page.ts';
import type { PolicyView } from '../types.ts';
import { policyFields } from './policy-fields.ts';

/** Create (`#/policies/new`) or edit (`#/policies/edit/<name>`) a policy through the admin API. */
export function policyFormPage(ctx: Ctx, params: readonly string[]): Page {
  const editing = params[0];
  const fields = policyFields(editing ? { editing: true } : {});
  const save = h('button', { type: 'submit', class: 'primary' }, editing ? 'Save changes' : 'Create policy');
  const form = h('form', { class: 'policy-form', novalidate: true, 'aria-label': editing ? `Edit policy ${editing}` : 'New policy' },
    fields.el,
    h('div', { class: 'form-actions' }, save, h('a', { href: '#/policies', class: 'button' }, 'Cancel')));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    save.disabled = true;
    const body = fields.read();
    const call = editing ? ctx.api.send<PolicyView>('PUT', `/api/policies/${encodeURIComponent(editing)}`, body) : ctx.api.send<PolicyView>('POST', '/api/policies', body);
    call.then(
      (v) => {
        ctx.toast(editing ? `Saved ${v.name} (version ${v.version}).` : `Created ${v.name}.`);
        ctx.navigate('#/policies');
      },
      (err: unknown) => {
        save.disabled = false;
        if (err instanceof ApiError && err.body) fields.showErrors(err.body.errors ?? [err.body.message ?? `HTTP ${err.status}`]);
        else fields.showErrors([errorText(err)]);
      },
    );
  });

  if (editing) {
    ctx.api.get<PolicyView>(`/api/policies/${encodeURIComponent(editing)}`).then(
      (v) => fields.fill(v.policy),
      (err: unknown) => fields.showErrors([`Cannot load ${editing}: ${errorText(err)}`], 'Not loaded'),
    );
  }
  const el = h('section', { class: 'page' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/policies' }, 'Policies'), ' › ', editing ?? 'new'),
    h('h1', { tabindex: -1 }, editing ? `Edit ${editing}` : 'New policy'),
    form);
  return { title: editing ? `Edit ${editing}` : 'New policy', el };
}
