// A console for raw REST calls: method, path and body in; status, headers and the response out.
import { rawCall } from './api.js';
import { h, clear, field, title } from './ui.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export async function consolePage(main) {
  const method = h('select', { id: 'console-method' }, METHODS.map((m) => h('option', { value: m }, m)));
  const path = h('input', { id: 'console-path', value: '/collections', required: true, autocomplete: 'off', spellcheck: false });
  const body = h('textarea', { id: 'console-body', rows: '8', spellcheck: false, placeholder: '{ }' });
  const out = h('div', { id: 'console-response', 'aria-live': 'polite' });

  async function send() {
    if (!path.value.startsWith('/')) {
      clear(out, h('p', { class: 'notice error', role: 'alert' }, 'The path starts with "/" (a path on this node).'));
      return;
    }
    clear(out, h('p', { class: 'muted' }, 'Sending…'));
    try {
      const r = await rawCall(method.value, path.value, body.value.trim() || undefined);
      const headers = [...r.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
      let text = r.text;
      if (r.json !== null) text = JSON.stringify(r.json, null, 2);
      clear(out,
        h('p', {}, h('strong', { id: 'console-status', class: r.status < 300 ? 'ok' : 'bad' }, `${r.status} ${r.statusText}`), h('span', { class: 'muted' }, ` in ${r.ms.toFixed(0)} ms`)),
        h('details', {}, h('summary', {}, 'Response headers'), h('pre', { class: 'json' }, headers)),
        h('pre', { class: 'json', id: 'console-output' }, text));
    } catch (err) {
      clear(out, h('p', { class: 'notice error', role: 'alert' }, String(err.message || err)));
    }
  }

  clear(main, title('REST console'),
    h('p', { class: 'muted' }, 'Calls this node with your credential. Ctrl+Enter in the body sends.'),
    h('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); send(); } },
      h('div', { class: 'inline' }, field('Method', method), h('div', { class: 'grow' }, field('Path', path)),
        h('button', { type: 'submit', class: 'primary', id: 'console-send' }, 'Send')),
      field('Body (JSON)', body)),
    out);
  body.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) send();
  });
}
