// Calls to the node's own REST API (same origin, JSON bodies), with the credential the user gave.
// The credential (an API key or a bearer token) lives in sessionStorage only: it is gone when the
// browser tab closes, and it is sent on every call, as `api-key` or `Authorization: Bearer`.

const STORAGE_KEY = 'vjvector.dashboard.credential';

let credential = loadCredential();
let askCredential = null; // async (message) => boolean: whether a new credential was given
let pendingAsk = null; // one prompt at a time, however many calls were refused

function loadCredential() {
  try {
    const c = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || 'null');
    return c && typeof c.value === 'string' && (c.kind === 'api-key' || c.kind === 'bearer') ? c : null;
  } catch {
    return null;
  }
}

export function getCredential() {
  return credential;
}

export function setCredential(c) {
  credential = c;
  try {
    if (c) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(c));
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage refused (private mode): the credential stays in memory for this page.
  }
}

export function onUnauthorized(fn) {
  askCredential = fn;
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function authHeaders() {
  if (!credential) return {};
  return credential.kind === 'bearer'
    ? { Authorization: 'Bearer ' + credential.value }
    : { 'api-key': credential.value };
}

// One HTTP exchange, whatever its status: {status, statusText, headers, text, json, ms}.
export async function rawCall(method, path, body, extraHeaders = {}) {
  const headers = { ...authHeaders(), ...extraHeaders };
  const init = { method, headers, credentials: 'omit', cache: 'no-store' };
  if (body !== undefined && body !== null && body !== '') {
    headers['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const started = performance.now();
  const r = await fetch(path, init);
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: r.status, statusText: r.statusText, headers: r.headers, text, json, ms: performance.now() - started };
}

function errorMessage(r) {
  const status = r.json && r.json.status;
  if (status && typeof status === 'object' && typeof status.error === 'string') return status.error;
  return r.text ? r.text.slice(0, 300) : r.statusText || 'HTTP ' + r.status;
}

async function ask(message) {
  if (!askCredential) return false;
  if (!pendingAsk) pendingAsk = askCredential(message).finally(() => { pendingAsk = null; });
  return pendingAsk;
}

// The `result` of a call in Qdrant's envelope; throws ApiError on any status but 2xx. A 401 asks the
// user for a credential and retries with it.
export async function api(method, path, body) {
  for (let attempt = 0; ; attempt++) {
    const before = credential;
    const r = await rawCall(method, path, body);
    if (r.status === 401 && attempt < 5) {
      // Another call may have been given a new credential while this one was in flight.
      if (credential !== before || (await ask(errorMessage(r)))) continue;
    }
    if (r.status < 200 || r.status >= 300) throw new ApiError(r.status, errorMessage(r), r.json);
    return r.json && 'result' in r.json ? r.json.result : r.json;
  }
}

export const enc = encodeURIComponent;

// fn over items with at most `limit` calls in flight (a node with many collections is not sent hundreds
// of requests at once); results in the items' order.
export async function mapLimited(items, fn, limit = 8) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
