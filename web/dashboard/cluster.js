// The cluster's live shape: nodes with their health, and every collection's shards with the primary,
// the replicas, their state and replication lag; refreshed every few seconds while the page is open.
// Rebalance and replace-dead call POST /cluster/rebalance.
import { api, enc, mapLimited } from './api.js';
import { h, clear, table, errorBox, confirmAction, pre, title, notify } from './ui.js';

const REFRESH_MS = 3000;

function stateBadge(state) {
  return h('span', { class: 'badge ' + String(state).toLowerCase() }, state);
}

async function snapshot() {
  const cluster = await api('GET', '/cluster');
  let names = [];
  let listError = null;
  try {
    names = (await api('GET', '/collections')).collections.map((c) => c.name).sort();
  } catch (err) {
    listError = err;
  }
  const shapes = await mapLimited(names, (n) => api('GET', `/collections/${enc(n)}/cluster`).catch((err) => ({ error: err })));
  return { cluster, listError, collections: names.map((name, i) => ({ name, shape: shapes[i] })) };
}

function nodesTable(cluster, collections) {
  // Live nodes hold a lease in etcd (GET /cluster's peers); a node that placements still name but that
  // holds no lease is gone.
  const nodes = new Map();
  for (const [id, p] of Object.entries(cluster.peers || {})) nodes.set(id, { id, uri: p.uri, live: true, replicas: 0, primaries: 0 });
  for (const c of collections) {
    for (const s of c.shape.shards || []) {
      for (const r of s.replicas || []) {
        if (!nodes.has(r.peer_id)) nodes.set(r.peer_id, { id: r.peer_id, uri: r.uri, live: false, replicas: 0, primaries: 0 });
        const n = nodes.get(r.peer_id);
        n.replicas++;
        if (r.is_primary) n.primaries++;
      }
    }
  }
  const rows = [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id)).map((n) => ({ ...n, __attrs: { 'data-node': n.id, 'data-health': n.live ? 'live' : 'gone' } }));
  return table([
    { label: 'Node', cell: (n) => h('code', {}, n.id), class: 'id' },
    { label: 'Health', cell: (n) => stateBadge(n.live ? 'Live' : 'Gone') },
    { label: 'Peer address', cell: (n) => n.uri || '' },
    { label: 'Replicas', class: 'num', cell: (n) => String(n.replicas) },
    { label: 'Primaries', class: 'num', cell: (n) => String(n.primaries) },
    { label: 'This node', cell: (n) => (n.id === cluster.peer_id ? 'yes' : '') },
  ], rows, { id: 'nodes' });
}

function shardsTable(c) {
  if (c.shape.error) return errorBox(c.shape.error, 'read its shards');
  if (!c.shape.shards) {
    // A standalone node: every shard is local.
    return table([
      { label: 'Shard', class: 'num', cell: (s) => String(s.shard_id) },
      { label: 'State', cell: (s) => stateBadge(s.state) },
      { label: 'Points', class: 'num', cell: (s) => String(s.points_count) },
    ], c.shape.local_shards || [], { class: 'shards', 'data-collection': c.name });
  }
  const rows = c.shape.shards.map((s) => ({ ...s, __attrs: { 'data-shard': String(s.shard_id) } }));
  return table([
    { label: 'Shard', class: 'num', cell: (s) => String(s.shard_id) },
    { label: 'Term', class: 'num', cell: (s) => String(s.term) },
    { label: 'Primary', cell: (s) => (s.primary ? h('code', {}, s.primary) : h('span', { class: 'badge dead' }, 'none')) },
    { label: 'Replicas', cell: (s) => h('ul', { class: 'replicas' }, (s.replicas || []).map((r) => h('li', {
      'data-replica': r.peer_id, 'data-state': r.state,
    }, h('code', {}, r.peer_id), ' ', stateBadge(r.state), r.is_primary ? ' primary' : '',
    r.lag !== undefined ? h('span', { class: 'muted' }, ` lag ${r.lag}, seq ${r.sequence}`) : ''))) },
  ], rows, { class: 'shards', 'data-collection': c.name });
}

export async function clusterPage(main, _params, { alive }) {
  const heading = title('Cluster');
  const updated = h('p', { class: 'muted', id: 'cluster-updated', 'aria-live': 'off' });
  const body = h('div', { id: 'cluster-body' });
  const actions = h('div', { class: 'toolbar' },
    h('button', { type: 'button', class: 'secondary', id: 'rebalance', onclick: () => rebalance(false) }, 'Rebalance'),
    h('button', { type: 'button', class: 'danger', id: 'replace-dead', onclick: () => rebalance(true) }, 'Replace dead replicas'));
  clear(main, heading, actions, updated, body);
  let timer = null;
  let stopped = false;

  async function rebalance(replaceDead) {
    const what = replaceDead ? 'Replace the replicas held by nodes that are gone with copies on live nodes, then rebalance?' : 'Move shard replicas onto the nodes holding the fewest?';
    if (!(await confirmAction(replaceDead ? 'Replace dead replicas' : 'Rebalance', what, replaceDead ? 'Replace dead' : 'Rebalance'))) return;
    try {
      const res = await api('POST', `/cluster/rebalance${replaceDead ? '?replace_dead=true' : ''}`, {});
      await notify('Done', h('div', {}, h('p', {}, `${(res.moves || []).length} moves.`), pre(res)));
    } catch (err) {
      await notify('Failed', errorBox(err, 'rebalance'));
    }
    refresh();
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      const s = await snapshot();
      if (stopped || !alive()) return;
      if (s.cluster.status !== 'enabled') {
        actions.hidden = true;
        clear(body, h('p', { class: 'notice' }, 'This node is standalone (not in a cluster): every shard is local.'),
          s.collections.map((c) => h('section', {}, h('h2', {}, c.name), shardsTable(c))));
      } else {
        clear(body,
          h('section', { 'aria-labelledby': 'nodes-h' }, h('h2', { id: 'nodes-h' }, 'Nodes'), nodesTable(s.cluster, s.collections),
            h('p', { class: 'muted' }, `etcd: ${(s.cluster.etcd?.endpoints || []).join(', ')} · prefix ${s.cluster.etcd?.prefix ?? ''}`)),
          s.listError ? errorBox(s.listError, 'list collections') : null,
          s.collections.map((c) => h('section', { 'aria-label': `Shards of ${c.name}` },
            h('h2', {}, 'Shards of ', h('a', { href: `#/collections/${enc(c.name)}` }, c.name)), shardsTable(c))));
      }
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes every ${REFRESH_MS / 1000} s.`;
    } catch (err) {
      if (stopped || !alive()) return;
      clear(body, errorBox(err, 'read the cluster'));
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }

  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
