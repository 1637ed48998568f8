// Points: browse (scroll with a JSON filter, payload and vector shown, next page) and query (by text, vector or
// by point id, scored results).
import { api, enc } from './api.js';
import { h, clear, table, pre, errorBox, field, title, collectionTabs, parseJson, vectorView } from './ui.js';

// A payload on one line when it is short, else pretty-printed in a disclosure.
function payloadView(payload) {
  if (!payload || Object.keys(payload).length === 0) return '';
  const text = JSON.stringify(payload);
  if (text.length <= 100) return h('code', {}, text);
  return h('details', {}, h('summary', {}, h('code', {}, text.slice(0, 92) + '…')), pre(payload));
}

const pointColumns = (withScore, points) => [
  { label: 'ID', class: 'id', cell: (p) => h('code', {}, String(p.id)) },
  withScore ? { label: 'Score', class: 'num', cell: (p) => (typeof p.score === 'number' ? p.score.toFixed(4) : '') } : null,
  { label: 'Payload', cell: (p) => payloadView(p.payload) },
  points.some((p) => p.vector !== undefined && p.vector !== null) ? { label: 'Vector', cell: (p) => vectorView(p.vector) } : null,
].filter(Boolean);

function pointRows(points) {
  return points.map((p) => ({ ...p, __attrs: { 'data-point-id': String(p.id) } }));
}

export async function browsePage(main, [name]) {
  const filter = h('textarea', { id: 'scroll-filter', rows: '4', spellcheck: false, placeholder: '{"must": [{"key": "color", "match": {"value": "red"}}]}' });
  const limit = h('input', { id: 'scroll-limit', type: 'number', min: '1', max: '1000', value: '20' });
  const withVector = h('input', { id: 'scroll-vectors', type: 'checkbox' });
  const results = h('div', { id: 'scroll-results', 'aria-live': 'polite' });
  let offset = null;

  async function load(reset) {
    if (reset) offset = null;
    const body = { limit: Number(limit.value) || 20, with_payload: true, with_vector: withVector.checked };
    try {
      if (filter.value.trim()) body.filter = parseJson(filter.value, 'Filter');
      if (offset !== null) body.offset = offset;
      const page = await api('POST', `/collections/${enc(name)}/points/scroll`, body);
      offset = page.next_page_offset ?? null;
      clear(results,
        table(pointColumns(false, page.points), pointRows(page.points), { id: 'points', empty: 'No points match.' }),
        h('div', { class: 'toolbar' },
          offset !== null ? h('button', { type: 'button', class: 'secondary', id: 'next-page', onclick: () => load(false) }, 'Next page') : h('span', { class: 'muted' }, 'Last page.')));
    } catch (err) {
      clear(results, errorBox(err, 'read points'));
    }
  }

  clear(main, title(name + ': browse'), collectionTabs(name, '/points'),
    h('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); load(true); } },
      field('Filter (JSON, Qdrant syntax; empty for all points)', filter),
      h('div', { class: 'inline' }, field('Page size', limit), h('label', { class: 'check' }, withVector, ' Show vectors'),
        h('button', { type: 'submit', class: 'primary', id: 'scroll-load' }, 'Load'))),
    results);
  await load(true);
}

export async function queryPage(main, [name]) {
  const mode = h('select', { id: 'query-mode' }, h('option', { value: 'vector' }, 'A vector'), h('option', { value: 'id' }, 'A point id (its vector)'),
    h('option', { value: 'text' }, 'Text (BM25 on a sparse vector)'));
  const input = h('textarea', { id: 'query-input', rows: '3', spellcheck: false, placeholder: '[0.1, 0.2, 0.3, 0.4]' });
  const using = h('input', { id: 'query-using', autocomplete: 'off', placeholder: 'default vector' });
  const limit = h('input', { id: 'query-limit', type: 'number', min: '1', max: '1000', value: '10' });
  const filter = h('textarea', { id: 'query-filter', rows: '2', spellcheck: false, placeholder: 'optional filter (JSON)' });
  const results = h('div', { id: 'query-results', 'aria-live': 'polite' });
  mode.addEventListener('change', () => {
    input.placeholder = { id: '42 or "6a1f…-uuid"', text: 'words to search for', vector: '[0.1, 0.2, 0.3, 0.4]' }[mode.value];
    using.placeholder = mode.value === 'text' ? 'sparse vector name (required)' : 'default vector';
  });

  async function run() {
    try {
      const text = input.value.trim();
      let query;
      if (mode.value === 'vector') {
        query = parseJson(text, 'Vector');
        if (!Array.isArray(query)) throw new Error('Vector: expected a JSON array of numbers');
      } else if (mode.value === 'text') {
        // Server-side BM25: the node tokenizes the text as it did the points' texts.
        if (text === '') throw new Error('Text: missing');
        if (!using.value.trim()) throw new Error('Vector name: a text query needs the sparse vector that holds BM25');
        query = { text, model: 'qdrant/bm25' };
      } else {
        query = /^\d+$/.test(text) ? Number(text) : text.replace(/^"|"$/g, '');
        if (query === '') throw new Error('Point id: missing');
      }
      const body = { query, limit: Number(limit.value) || 10, with_payload: true };
      if (using.value.trim()) body.using = using.value.trim();
      if (filter.value.trim()) body.filter = parseJson(filter.value, 'Filter');
      const started = performance.now();
      const res = await api('POST', `/collections/${enc(name)}/points/query`, body);
      clear(results,
        h('p', { class: 'muted' }, `${res.points.length} results in ${(performance.now() - started).toFixed(0)} ms.`),
        table(pointColumns(true, res.points), pointRows(res.points), { id: 'query-points', empty: 'No results.' }),
        h('details', {}, h('summary', {}, 'Request body'), pre(body)));
    } catch (err) {
      clear(results, errorBox(err, 'query'));
    }
  }

  clear(main, title(name + ': query'), collectionTabs(name, '/query'),
    h('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); run(); } },
      h('div', { class: 'inline' }, field('Query by', mode), field('Vector name', using), field('Limit', limit)),
      field('Query', input), field('Filter', filter),
      h('div', {}, h('button', { type: 'submit', class: 'primary', id: 'query-run' }, 'Run query'))),
    results);
}
