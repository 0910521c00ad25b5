// A tiny element builder: data always goes in as text nodes or attributes, never as HTML; text shows bidi
// controls and zero-width characters as visible code points (format.ts).
import { shownText } from './format.ts';

type Child = Node | string | number | null | undefined | false | readonly Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

function append(el: Element, c: Child): void {
  if (c === null || c === undefined || c === false) return;
  if (Array.isArray(c)) {
    for (const x of c as readonly Child[]) append(el, x);
    return;
  }
  el.append(typeof c === 'object' ? (c as Node) : shownText(String(c)));
}

/** `h('a', { href: '#/x', class: 'y', onclick: fn }, 'text', child)`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

/** A table with a caption and column headers; rows of cells. An empty body shows `empty` in one cell. */
export function table(caption: string, headers: readonly string[], rows: readonly Child[][], empty = 'None.', opts: { hideCaption?: boolean } = {}): HTMLElement {
  const body = rows.length
    ? rows.map((r) => h('tr', null, r.map((c) => h('td', null, c))))
    : [h('tr', null, h('td', { colspan: headers.length, class: 'empty' }, empty))];
  return h(
    'div',
    { class: 'table-wrap' },
    h('table', null, h('caption', { class: opts.hideCaption ? 'sr-only' : null }, caption), h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))), h('tbody', null, body)),
  );
}

let uid = 0;
/** A unique id for label/for and aria-describedby pairs. */
export function nextId(prefix: string): string {
  uid++;
  return `${prefix}-${uid}`;
}

/** A labelled form field; `error` holds the server's message for it (aria-describedby points at it). */
export function field<C extends HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(label: string, control: C, hint?: string): { row: HTMLElement; error: HTMLElement; control: C } {
  const id = control.id || nextId('f');
  control.id = id;
  const error = h('p', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' });
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  control.setAttribute('aria-describedby', [hintEl ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' '));
  const row = h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl, error);
  return { row, error, control };
}

export function entityHref(kind: string, id: string): string {
  return `#/entity/${encodeURIComponent(kind)}/${encodeURIComponent(id)}`;
}

export function entityLink(kind: string, id: string, text?: string): HTMLAnchorElement {
  return h('a', { href: entityHref(kind, id) }, text ?? id);
}
