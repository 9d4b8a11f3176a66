// The portal's HTTP API, as PRODUCT.md defines it. Every failure becomes an
// ApiError with the API's own code and message.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

const fallback = {
  400: 'The request was not valid.',
  401: 'Your session has ended; sign in again.',
  403: 'You are not allowed to do this.',
  404: 'Not found, or you are not designated on it.',
  409: 'This conflicts with the current state; reload and try again.',
  413: 'The request is too large.',
  429: 'Too many requests; wait a moment and try again.',
};

let base = '';
let token = () => '';
let unauthorized = () => {};

/** configure sets the API's base, where the bearer token comes from, and what a 401 does. */
export function configure(apiBase, getToken, onUnauthorized) {
  base = apiBase || '';
  token = getToken;
  unauthorized = onUnauthorized;
}

/** call sends one request and returns the decoded JSON body (null for 204). */
export async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(base + path, init);
  } catch {
    throw new ApiError(0, 'network_error', 'The portal could not reach its API. Check your connection and try again.');
  }
  if (resp.status === 204) return null;
  let data = null;
  const text = await resp.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (resp.status === 401) {
    unauthorized();
    throw new ApiError(401, 'unauthenticated', fallback[401]);
  }
  if (!resp.ok) {
    const e = data && data.error;
    const message = (e && e.message) || fallback[resp.status] || 'Something went wrong (HTTP ' + resp.status + '); try again later.';
    throw new ApiError(resp.status, (e && e.code) || 'http_' + resp.status, message);
  }
  return data;
}

export const get = (path) => call('GET', path);

/** withCursor adds ?cursor= to a list path. */
export function withCursor(path, cursor) {
  return cursor ? path + (path.includes('?') ? '&' : '?') + 'cursor=' + encodeURIComponent(cursor) : path;
}

/** listAll reads every page of a list, up to a bound. */
export async function listAll(path, maxPages = 20) {
  const items = [];
  let cursor = '';
  for (let i = 0; i < maxPages; i++) {
    const page = await get(withCursor(path, cursor));
    items.push(...itemsOf(page));
    cursor = page && page.nextCursor;
    if (!cursor) break;
  }
  return items;
}

/** itemsOf accepts a list body or a bare array. */
export function itemsOf(body) {
  if (Array.isArray(body)) return body;
  return (body && body.items) || [];
}

export const enc = encodeURIComponent;

let metadata = null;

/**
 * tokenEndpoint reads the token endpoint's URL from the authorization
 * server's metadata (RFC 8414), which the portal publishes beside its API.
 * It sends no credentials and remembers the answer.
 */
export function tokenEndpoint() {
  if (!metadata) {
    metadata = fetch(base + '/.well-known/oauth-authorization-server', { cache: 'no-cache', credentials: 'omit', referrerPolicy: 'no-referrer' })
      .then((resp) => {
        if (!resp.ok) throw new Error('HTTP ' + resp.status);
        return resp.json();
      })
      .then((m) => {
        if (!m || typeof m.token_endpoint !== 'string') throw new Error('no token_endpoint');
        return m.token_endpoint;
      })
      .catch((err) => {
        metadata = null;
        throw err;
      });
  }
  return metadata;
}
