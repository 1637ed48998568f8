// A 2-D view of a sample of a collection: the vectors projected onto their two principal components
// (PCA by power iteration) or onto two random directions, computed here in the browser, drawn on a
// canvas and coloured by a payload field.
import { api, enc } from './api.js';
import { h, clear, errorBox, field, title, collectionTabs } from './ui.js';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

function seededRandom(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function normalize(v) {
  const n = Math.sqrt(dot(v, v)) || 1;
  return v.map((x) => x / n);
}

// The top `k` principal directions of the centred rows (power iteration with deflation).
export function principalAxes(rows, k = 2, iterations = 60) {
  const dim = rows[0].length;
  const rand = seededRandom(42);
  const axes = [];
  for (let c = 0; c < k; c++) {
    let v = normalize(Array.from({ length: dim }, () => rand() - 0.5));
    for (let it = 0; it < iterations; it++) {
      const next = new Array(dim).fill(0);
      for (const r of rows) {
        const p = dot(r, v);
        for (let i = 0; i < dim; i++) next[i] += p * r[i];
      }
      for (const a of axes) {
        const p = dot(next, a);
        for (let i = 0; i < dim; i++) next[i] -= p * a[i];
      }
      v = normalize(next);
    }
    axes.push(v);
  }
  return axes;
}

function randomAxes(dim) {
  const rand = seededRandom(7);
  // Gaussian directions (Box-Muller).
  const gauss = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
  return [0, 1].map(() => normalize(Array.from({ length: dim }, gauss)));
}

function vectorOf(p, using) {
  const v = p.vector;
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object') {
    const named = using ? v[using] : Object.values(v).find(Array.isArray);
    return Array.isArray(named) ? named : null;
  }
  return null;
}

export async function mapPage(main, [name], { alive }) {
  const sampleSize = h('input', { id: 'map-sample', type: 'number', min: '2', max: '2000', value: '500' });
  const method = h('select', { id: 'map-method' }, h('option', { value: 'pca' }, 'PCA (principal components)'), h('option', { value: 'random' }, 'Random projection'));
  const using = h('input', { id: 'map-using', autocomplete: 'off', placeholder: 'default vector' });
  const colourBy = h('select', { id: 'map-colour' }, h('option', { value: '' }, '(none)'));
  const canvas = h('canvas', { id: 'map-canvas', width: '800', height: '520', role: 'img', 'aria-label': 'Projection of the sample' });
  const legend = h('ul', { class: 'legend', id: 'map-legend', 'aria-label': 'Colours' });
  const info = h('p', { class: 'muted', 'aria-live': 'polite' });
  const tip = h('div', { class: 'tip', hidden: true });
  let points = [];
  let projected = [];

  async function load() {
    info.textContent = 'Loading a sample…';
    try {
      const limit = Math.min(2000, Math.max(2, Number(sampleSize.value) || 500));
      const res = await api('POST', `/collections/${enc(name)}/points/scroll`, { limit, with_payload: true, with_vector: using.value.trim() ? [using.value.trim()] : true });
      points = res.points.filter((p) => vectorOf(p, using.value.trim()));
      const keys = new Set();
      for (const p of points) for (const k of Object.keys(p.payload || {})) keys.add(k);
      const keep = colourBy.value;
      clear(colourBy, h('option', { value: '' }, '(none)'), [...keys].sort().map((k) => h('option', { value: k }, k)));
      if (keys.has(keep)) colourBy.value = keep;
      project();
    } catch (err) {
      clear(info, errorBox(err, 'read points'));
    }
  }

  function project() {
    if (points.length < 2) {
      info.textContent = 'Not enough points with vectors to draw (need 2).';
      draw();
      return;
    }
    const rows = points.map((p) => vectorOf(p, using.value.trim()));
    const dim = rows[0].length;
    const mean = new Array(dim).fill(0);
    for (const r of rows) for (let i = 0; i < dim; i++) mean[i] += r[i] / rows.length;
    const centred = rows.map((r) => r.map((x, i) => x - mean[i]));
    const axes = method.value === 'pca' ? principalAxes(centred) : randomAxes(dim);
    projected = centred.map((r) => [dot(r, axes[0]), dot(r, axes[1])]);
    info.textContent = `${points.length} points of ${dim} dimensions, ${method.value === 'pca' ? 'first two principal components' : 'two random directions'}.`;
    draw();
  }

  function colourKey(p) {
    if (!colourBy.value) return '';
    const v = (p.payload || {})[colourBy.value];
    return v === undefined ? '(missing)' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }

  function draw() {
    const ctx = canvas.getContext('2d');
    const W = canvas.width;
    const Hh = canvas.height;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, W, Hh);
    clear(legend);
    if (projected.length < 2 || points.length < 2) return;
    const xs = projected.map((p) => p[0]);
    const ys = projected.map((p) => p[1]);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const pad = 20;
    const sx = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * pad);
    const sy = (y) => Hh - pad - ((y - y0) / (y1 - y0 || 1)) * (Hh - 2 * pad);
    // Colours by the values' sorted order, so that the same data gets the same colours each time.
    const colours = new Map();
    for (const key of [...new Set(points.map(colourKey))].sort()) {
      colours.set(key, colours.size < PALETTE.length ? PALETTE[colours.size] : '#444');
    }
    points.forEach((p, i) => {
      const key = colourKey(p);
      ctx.fillStyle = colours.get(key);
      ctx.beginPath();
      ctx.arc(sx(projected[i][0]), sy(projected[i][1]), 3.5, 0, 2 * Math.PI);
      ctx.fill();
      p.__xy = [sx(projected[i][0]), sy(projected[i][1])];
    });
    if (colourBy.value) {
      for (const [k, c] of colours) {
        const sw = h('span', { class: 'swatch' });
        sw.style.background = c;
        legend.append(h('li', {}, sw, k));
      }
    }
    canvas.setAttribute('aria-label', `Projection of ${points.length} points` + (colourBy.value ? `, coloured by ${colourBy.value} (${colours.size} values)` : ''));
  }

  canvas.addEventListener('mousemove', (e) => {
    const rect = canvas.getBoundingClientRect();
    const x = ((e.clientX - rect.left) * canvas.width) / rect.width;
    const y = ((e.clientY - rect.top) * canvas.height) / rect.height;
    let best = null;
    let bestD = 64;
    for (const p of points) {
      if (!p.__xy) continue;
      const d = (p.__xy[0] - x) ** 2 + (p.__xy[1] - y) ** 2;
      if (d < bestD) [best, bestD] = [p, d];
    }
    tip.hidden = !best;
    if (best) {
      tip.textContent = `id ${best.id}` + (colourBy.value ? ` · ${colourBy.value}: ${colourKey(best)}` : '');
      tip.style.left = `${e.clientX - rect.left + 12}px`;
      tip.style.top = `${e.clientY - rect.top + 12}px`;
    }
  });
  canvas.addEventListener('mouseleave', () => { tip.hidden = true; });
  method.addEventListener('change', project);
  colourBy.addEventListener('change', draw);

  clear(main, title(name + ': 2-D map'), collectionTabs(name, '/map'),
    h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); load(); } },
      field('Sample size', sampleSize), field('Projection', method), field('Vector name', using), field('Colour by', colourBy),
      h('button', { type: 'submit', class: 'primary', id: 'map-load' }, 'Sample')),
    info, h('div', { class: 'plot' }, canvas, tip), legend);
  if (alive()) await load();
}
