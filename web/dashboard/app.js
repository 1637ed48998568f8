// The VJVector web console: hash-based routing between the pages; each page renders into <main> and may
// return a function that stops what it started (the cluster page's refresh). Plain ES modules, no build
// step: the node serves these files as they are (docs/dashboard.md).
import { onUnauthorized, setCredential, getCredential } from './api.js';
import { h, clear, modal, field } from './ui.js';
import { collectionsPage, collectionPage } from './collections.js';
import { browsePage, queryPage } from './points.js';
import { clusterPage } from './cluster.js';
import { snapshotsPage } from './snapshots.js';
import { consolePage } from './console.js';
import { mapPage } from './map.js';

const routes = [
  [/^\/collections\/?$/, () => collectionsPage],
  [/^\/collections\/([^/]+)$/, () => collectionPage],
  [/^\/collections\/([^/]+)\/points$/, () => browsePage],
  [/^\/collections\/([^/]+)\/query$/, () => queryPage],
  [/^\/collections\/([^/]+)\/snapshots$/, () => snapshotsPage],
  [/^\/collections\/([^/]+)\/map$/, () => mapPage],
  [/^\/cluster$/, () => clusterPage],
  [/^\/console$/, () => consolePage],
];

let stopPage = null;
let generation = 0;

async function route() {
  const hash = location.hash.replace(/^#/, '') || '/collections';
  if (stopPage) {
    stopPage();
    stopPage = null;
  }
  const main = document.getElementById('main');
  const mine = ++generation;
  for (const a of document.querySelectorAll('#nav a')) {
    if (hash.startsWith(a.getAttribute('href').slice(1))) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  for (const [pattern, page] of routes) {
    const m = hash.match(pattern);
    if (!m) continue;
    let params;
    try {
      params = m.slice(1).map(decodeURIComponent);
    } catch {
      break;
    }
    clear(main, h('p', { class: 'muted' }, 'Loading…'));
    main.setAttribute('aria-busy', 'true');
    try {
      // A page gets `alive()` to know whether the user has moved on while it was loading.
      const stop = await page()(main, params, { alive: () => mine === generation });
      if (mine === generation) stopPage = typeof stop === 'function' ? stop : null;
      else if (typeof stop === 'function') stop();
    } catch (err) {
      if (mine === generation) clear(main, h('h1', {}, 'Error'), h('p', { class: 'notice error', role: 'alert' }, String(err.message || err)));
    } finally {
      main.removeAttribute('aria-busy');
    }
    if (mine === generation) main.focus({ preventScroll: true });
    return;
  }
  clear(main, h('h1', {}, 'Not found'), h('p', {}, 'No page at ', h('code', {}, hash), '. ', h('a', { href: '#/collections' }, 'Collections')));
}

// Asked when a call answers 401: the node wants credentials (or the ones given are wrong).
async function askForCredential(message) {
  const kind = h('select', { name: 'kind' },
    h('option', { value: 'api-key' }, 'API key (api-key header)'),
    h('option', { value: 'bearer' }, 'Bearer token (Authorization header)'));
  const value = h('input', { type: 'password', name: 'credential', autocomplete: 'off', required: true, spellcheck: false, autofocus: true });
  const body = h('div', { class: 'stack' },
    h('p', {}, 'This node requires credentials. They are kept for this browser tab only (sessionStorage) and sent with every call.'),
    getCredential() ? h('p', { class: 'notice error', role: 'alert' }, 'The node refused the credential: ' + message) : null,
    field('Kind', kind),
    field('API key or token', value));
  const given = await modal('Sign in', body, 'Use', {
    collect: () => (value.value.trim() ? { kind: kind.value, value: value.value.trim() } : null),
  });
  if (!given) return false;
  setCredential(given);
  showWho();
  return true;
}

function showWho() {
  const c = getCredential();
  document.getElementById('who').textContent = c ? (c.kind === 'bearer' ? 'Using a bearer token' : 'Using an API key') : '';
  document.getElementById('signout').hidden = !c;
}

function start() {
  onUnauthorized(askForCredential);
  document.getElementById('signout').addEventListener('click', () => {
    setCredential(null);
    showWho();
    route();
  });
  showWho();
  window.addEventListener('hashchange', route);
  route();
}

start();
