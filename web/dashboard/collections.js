// Collections: the list (points, vectors, indexes, status), create and delete; one collection's config,
// payload schema and payload indexes.
import { api, enc, mapLimited } from './api.js';
import { h, clear, table, pre, errorBox, modal, confirmAction, field, toast, title, collectionTabs, notify } from './ui.js';

const DISTANCES = ['Cosine', 'Dot', 'Euclid', 'Manhattan'];
const INDEX_TYPES = ['keyword', 'integer', 'float', 'bool', 'geo', 'datetime', 'uuid', 'text'];

function vectorsSummary(info) {
  const v = info && info.config && info.config.params && info.config.params.vectors;
  if (!v) return '';
  if (typeof v.size === 'number') return `${v.size}-d ${v.distance}`;
  return Object.entries(v).map(([n, p]) => `${n}: ${p.size}-d ${p.distance}`).join(', ');
}

function statusBadge(status) {
  return h('span', { class: 'badge ' + (status || 'unknown') }, status || 'unknown');
}

export async function collectionsPage(main, _params, { alive }) {
  const heading = title('Collections');
  const createButton = h('button', { type: 'button', class: 'primary', id: 'create-collection', onclick: () => createCollection() }, 'Create collection');
  let names;
  try {
    names = (await api('GET', '/collections')).collections.map((c) => c.name).sort();
  } catch (err) {
    clear(main, heading, errorBox(err, 'list collections'));
    return;
  }
  const infos = await mapLimited(names, (n) => api('GET', `/collections/${enc(n)}`).catch((err) => ({ error: err })));
  if (!alive()) return;
  const rows = names.map((name, i) => ({ name, info: infos[i], __attrs: { 'data-collection': name } }));
  const cell = (f) => (r) => (r.info.error ? '' : f(r.info));
  clear(main, heading,
    h('div', { class: 'toolbar' }, createButton, h('button', { type: 'button', class: 'secondary', onclick: () => collectionsPage(main, [], { alive }) }, 'Refresh')),
    table([
      { label: 'Name', cell: (r) => h('a', { href: `#/collections/${enc(r.name)}` }, r.name) },
      { label: 'Status', cell: (r) => (r.info.error ? errorBox(r.info.error, 'read it') : statusBadge(r.info.status)) },
      { label: 'Points', class: 'num points', cell: cell((i) => String(i.points_count)) },
      { label: 'Indexed vectors', class: 'num', cell: cell((i) => String(i.indexed_vectors_count ?? i.vectors_count ?? '')) },
      { label: 'Vectors', cell: cell(vectorsSummary) },
      { label: 'Payload indexes', class: 'num', cell: cell((i) => String(Object.keys(i.payload_schema || {}).length)) },
      { label: 'Actions', cell: (r) => h('button', { type: 'button', class: 'danger small', 'aria-label': `Delete collection ${r.name}`, onclick: () => deleteCollection(r.name) }, 'Delete') },
    ], rows, { id: 'collections', empty: 'No collections (or none your key may read).' }));
}

export async function createCollection() {
  const name = h('input', { name: 'name', required: true, pattern: '[A-Za-z0-9_.\\-]+', autocomplete: 'off' });
  const size = h('input', { name: 'size', type: 'number', min: '1', max: '65536', value: '4', required: true });
  const distance = h('select', { name: 'distance' }, DISTANCES.map((d) => h('option', { value: d }, d)));
  const shards = h('input', { name: 'shard_number', type: 'number', min: '1', max: '1024', placeholder: 'default' });
  const replicas = h('input', { name: 'replication_factor', type: 'number', min: '1', max: '16', placeholder: 'default' });
  const body = h('div', { class: 'grid2' },
    field('Name', name), field('Vector size', size), field('Distance', distance),
    field('Shards', shards, 'optional'), field('Replication factor', replicas, 'optional (cluster mode)'));
  const config = await modal('Create collection', body, 'Create', {
    collect: () => {
      if (!name.reportValidity() || !size.reportValidity()) return null;
      const c = { vectors: { size: Number(size.value), distance: distance.value } };
      if (shards.value) c.shard_number = Number(shards.value);
      if (replicas.value) c.replication_factor = Number(replicas.value);
      return { name: name.value, config: c };
    },
  });
  if (!config) return;
  try {
    await api('PUT', `/collections/${enc(config.name)}`, config.config);
    toast(`Collection ${config.name} created`);
    location.hash = `#/collections/${enc(config.name)}`;
  } catch (err) {
    await notify('Create collection failed', errorBox(err, 'create collections'));
  }
}

export async function deleteCollection(name) {
  if (!(await confirmAction('Delete collection', `Delete collection "${name}" and all its points? This cannot be undone.`, `Delete ${name}`))) return;
  try {
    await api('DELETE', `/collections/${enc(name)}`);
    toast(`Collection ${name} deleted`);
    if (location.hash === '#/collections') window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = '#/collections';
  } catch (err) {
    await notify('Delete failed', errorBox(err, 'delete this collection'));
  }
}

export async function collectionPage(main, [name], { alive }) {
  let info;
  try {
    info = await api('GET', `/collections/${enc(name)}`);
  } catch (err) {
    clear(main, title(name), errorBox(err, 'read this collection'));
    return;
  }
  if (!alive()) return;
  const schema = Object.entries(info.payload_schema || {});
  const facts = [
    ['Status', statusBadge(info.status)],
    ['Points', String(info.points_count)],
    ['Indexed vectors', String(info.indexed_vectors_count ?? '')],
    ['Vectors', vectorsSummary(info)],
    ['Shards', String(info.config?.params?.shard_number ?? '')],
    ['Replication factor', String(info.config?.params?.replication_factor ?? '')],
  ];
  const fieldName = h('input', { name: 'field_name', required: true, autocomplete: 'off' });
  const fieldType = h('select', { name: 'field_schema' }, INDEX_TYPES.map((t) => h('option', { value: t }, t)));
  const indexForm = h('form', { class: 'inline', id: 'create-index', onsubmit: async (e) => {
    e.preventDefault();
    if (!fieldName.value) return;
    if (!(await confirmAction('Create payload index', `Index payload field "${fieldName.value}" as ${fieldType.value}?`, 'Create index'))) return;
    try {
      await api('PUT', `/collections/${enc(name)}/index?wait=true`, { field_name: fieldName.value, field_schema: fieldType.value });
      toast(`Index on ${fieldName.value} created`);
      collectionPage(main, [name], { alive });
    } catch (err) {
      indexForm.after(errorBox(err, 'create payload indexes'));
    }
  } }, field('Field', fieldName), field('Type', fieldType), h('button', { type: 'submit', class: 'primary' }, 'Create index'));

  clear(main, title(name), collectionTabs(name, ''),
    h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('section', { 'aria-labelledby': 'schema-h' },
      h('h2', { id: 'schema-h' }, 'Payload schema and indexes'),
      table([
        { label: 'Field', cell: ([k]) => h('code', {}, k) },
        { label: 'Type', cell: ([, v]) => v.data_type },
        { label: 'Indexed points', class: 'num', cell: ([, v]) => String(v.points ?? '') },
        { label: 'Actions', cell: ([k]) => h('button', { type: 'button', class: 'danger small', 'aria-label': `Delete index on ${k}`, onclick: async () => {
          if (!(await confirmAction('Delete payload index', `Delete the index on "${k}"? Filters on it keep working, more slowly.`, 'Delete index'))) return;
          try {
            await api('DELETE', `/collections/${enc(name)}/index/${enc(k)}?wait=true`);
            toast(`Index on ${k} deleted`);
            collectionPage(main, [name], { alive });
          } catch (err) {
            await notify('Delete index failed', errorBox(err, 'delete payload indexes'));
          }
        } }, 'Delete') },
      ], schema, { id: 'payload-schema', empty: 'No payload indexes.' }),
      indexForm),
    h('section', { 'aria-labelledby': 'config-h' }, h('h2', { id: 'config-h' }, 'Configuration'), pre(info.config)),
    h('section', { 'aria-labelledby': 'danger-h', class: 'danger-zone' }, h('h2', { id: 'danger-h' }, 'Delete'),
      h('button', { type: 'button', class: 'danger', id: 'delete-collection', onclick: () => deleteCollection(name) }, `Delete collection ${name}`)));
}
