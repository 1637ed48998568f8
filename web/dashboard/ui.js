// Small DOM helpers shared by the pages: element builder, tables, dialogs, messages. No innerHTML with
// data anywhere: every value from the node is set as text.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A table: columns [{label, cell: row => node|string, class?}], rows.
export function table(columns, rows, attrs = {}) {
  const head = h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label))));
  const body = h('tbody', {}, rows.map((row) => {
    const tr = h('tr', row.__attrs || {});
    for (const c of columns) tr.append(h('td', { class: c.class }, c.cell(row)));
    return tr;
  }));
  if (rows.length === 0) body.append(h('tr', {}, h('td', { colspan: String(columns.length), class: 'empty' }, attrs.empty || 'Nothing here.')));
  delete attrs.empty;
  return h('table', attrs, head, body);
}

export function jsonText(v, indent = 2) {
  return JSON.stringify(v, null, indent);
}

export function pre(v, attrs = {}) {
  return h('pre', { class: 'json', ...attrs }, typeof v === 'string' ? v : jsonText(v));
}

// A short vector preview with the whole vector in a disclosure.
export function vectorView(vector) {
  if (vector === undefined || vector === null) return '';
  const text = jsonText(vector, 0);
  if (text.length <= 80) return h('code', {}, text);
  return h('details', {}, h('summary', {}, text.slice(0, 72) + '…'), pre(vector));
}

export function toast(message) {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('show'), 4000);
}

// What a failed call means to the user: 403 says the key may not do it, not that something broke.
export function errorBox(err, what = '') {
  const status = err && err.status;
  let text;
  if (status === 401) text = `Not signed in (401): ${err.message}. Reload the page to give an API key or token.`;
  else if (status === 403) text = `Your key is not allowed to ${what || 'do this'} (403): ${err.message}`;
  else if (status === 404) text = `Not found (404): ${err.message}`;
  else if (status) text = `${what ? what + ' failed' : 'Failed'} (${status}): ${err.message}`;
  else text = `${what ? what + ' failed' : 'Failed'}: ${err && err.message ? err.message : err}`;
  return h('p', { class: status === 403 ? 'notice forbidden' : 'notice error', role: 'alert' }, text);
}

// A modal dialog (<dialog>: focus is trapped and Escape cancels). Resolves to the value the form gives
// on submit, or null when cancelled.
export function modal(title, body, submitLabel, { danger = false, collect = () => true, cancel = true } = {}) {
  return new Promise((resolve) => {
    const form = h('form', { method: 'dialog', class: 'stack' },
      h('h2', { id: 'dialog-title' }, title),
      body,
      h('div', { class: 'actions' },
        cancel ? h('button', { type: 'button', value: 'cancel', class: 'secondary', onclick: () => dialog.close('cancel') }, 'Cancel') : null,
        h('button', { type: 'submit', value: 'ok', class: danger ? 'danger' : 'primary' }, submitLabel)));
    const dialog = h('dialog', { 'aria-labelledby': 'dialog-title' }, form);
    let value = null;
    form.addEventListener('submit', (e) => {
      value = collect(form);
      if (value === undefined || value === null || value === false) {
        e.preventDefault();
        return;
      }
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'ok' ? value : null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// A message the user acknowledges (a failure, a result).
export async function notify(title, body) {
  await modal(title, body, 'OK', { cancel: false });
}

export async function confirmAction(title, message, label) {
  return (await modal(title, h('p', {}, message), label, { danger: true })) !== null;
}

// A labelled form field.
export function field(label, input, hint) {
  const id = input.id || 'f-' + Math.random().toString(36).slice(2);
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('small', {}, hint) : null);
}

export function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: not valid JSON (${e.message})`);
  }
}

export function title(text, ...extra) {
  document.title = text + ' · VJVector console';
  return h('h1', {}, text, ...extra);
}

export function collectionTabs(name, current) {
  const enc = encodeURIComponent(name);
  const tabs = [['', 'Overview'], ['/points', 'Browse points'], ['/query', 'Query'], ['/map', '2-D map'], ['/snapshots', 'Snapshots']];
  return h('nav', { class: 'tabs', 'aria-label': 'Collection ' + name },
    tabs.map(([suffix, label]) => h('a', { href: `#/collections/${enc}${suffix}`, 'aria-current': current === suffix ? 'page' : null }, label)));
}
