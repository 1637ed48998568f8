// A collection's snapshots: list, create, download, delete (standalone nodes; a cluster answers 501).
import { api, enc, getCredential } from './api.js';
import { h, clear, table, errorBox, confirmAction, toast, title, collectionTabs, notify } from './ui.js';

async function download(name, snapshot) {
  // Through fetch, so the credential goes with it; saved from a blob URL.
  const r = await fetch(`/collections/${enc(name)}/snapshots/${enc(snapshot)}`, { headers: authOnly() });
  if (!r.ok) {
    toast(`Download failed (${r.status})`);
    return;
  }
  const url = URL.createObjectURL(await r.blob());
  const a = h('a', { href: url, download: snapshot });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function authOnly() {
  const c = getCredential();
  if (!c) return {};
  return c.kind === 'bearer' ? { Authorization: 'Bearer ' + c.value } : { 'api-key': c.value };
}

export async function snapshotsPage(main, [name], { alive }) {
  const heading = title(name + ': snapshots');
  const status = h('div', { 'aria-live': 'polite' });
  let list;
  try {
    list = await api('GET', `/collections/${enc(name)}/snapshots`);
  } catch (err) {
    clear(main, heading, collectionTabs(name, '/snapshots'),
      err.status === 501 ? h('p', { class: 'notice' }, 'Snapshots are not available on this node (cluster mode answers 501; see docs/backup.md).') : errorBox(err, 'list snapshots'));
    return;
  }
  if (!alive()) return;
  const again = () => snapshotsPage(main, [name], { alive });
  clear(main, heading, collectionTabs(name, '/snapshots'),
    h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'primary', id: 'create-snapshot', onclick: async () => {
      clear(status, h('p', { class: 'muted' }, 'Creating a snapshot…'));
      try {
        const s = await api('POST', `/collections/${enc(name)}/snapshots?wait=true`);
        toast(`Snapshot ${s.name} created`);
        again();
      } catch (err) {
        clear(status, errorBox(err, 'create snapshots'));
      }
    } }, 'Create snapshot')),
    status,
    table([
      { label: 'Name', cell: (s) => h('code', {}, s.name) },
      { label: 'Created', cell: (s) => s.creation_time || '' },
      { label: 'Size (bytes)', class: 'num', cell: (s) => String(s.size) },
      { label: 'Checksum', cell: (s) => h('code', { class: 'muted' }, (s.checksum || '').slice(0, 16)) },
      { label: 'Actions', cell: (s) => [
        h('button', { type: 'button', class: 'secondary small', onclick: () => download(name, s.name) }, 'Download'), ' ',
        h('button', { type: 'button', class: 'danger small', 'aria-label': `Delete snapshot ${s.name}`, onclick: async () => {
          if (!(await confirmAction('Delete snapshot', `Delete snapshot ${s.name}?`, 'Delete snapshot'))) return;
          try {
            await api('DELETE', `/collections/${enc(name)}/snapshots/${enc(s.name)}?wait=true`);
            toast('Snapshot deleted');
            again();
          } catch (err) {
            await notify('Delete failed', errorBox(err, 'delete snapshots'));
          }
        } }, 'Delete')] },
    ], list.map((s) => ({ ...s, __attrs: { 'data-snapshot': s.name } })), { id: 'snapshots', empty: 'No snapshots.' }));
}
