// Sign-in. OIDC mode: the authorization code flow with PKCE (S256), state
// and nonce, against the configured issuer; the ID token is the API's bearer.
// Local mode: a token for a demo user from the local stack's /local/token.
// The token lives in sessionStorage only, and never in a URL.

const TOKEN = 'credportal.token';
const PENDING = 'credportal.pending';
const RETURN = 'credportal.return';

function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(n = 32) {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}

async function s256(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return b64url(new Uint8Array(digest));
}

/** claims decodes a JWT's payload, without verifying it (the API does). */
export function claims(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(part + '='.repeat((4 - (part.length % 4)) % 4));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

/** token returns the bearer token while it is valid, else ''. */
export function token() {
  const t = sessionStorage.getItem(TOKEN) || '';
  if (!t) return '';
  const c = claims(t);
  if (c && typeof c.exp === 'number' && c.exp * 1000 < Date.now() + 10000) {
    sessionStorage.removeItem(TOKEN);
    return '';
  }
  return t;
}

function store(t) {
  sessionStorage.setItem(TOKEN, t);
}

/** forget drops the token (and any half-done sign-in). */
export function forget() {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(PENDING);
}

/** rememberReturn keeps the page to come back to after signing in. */
export function rememberReturn(hash) {
  if (hash && hash.startsWith('#/')) sessionStorage.setItem(RETURN, hash);
}

/** takeReturn gives and forgets the page to come back to. */
export function takeReturn() {
  const r = sessionStorage.getItem(RETURN) || '#/';
  sessionStorage.removeItem(RETURN);
  return r;
}

/** startOIDC sends the browser to the issuer's sign-in page. */
export async function startOIDC(cfg) {
  const verifier = randomString(48);
  const state = randomString(24);
  const nonce = randomString(24);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, nonce }));
  const u = new URL(cfg.authorizeEndpoint);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('client_id', cfg.clientId);
  u.searchParams.set('redirect_uri', cfg.redirectUri);
  u.searchParams.set('scope', cfg.scope || 'openid email');
  u.searchParams.set('state', state);
  u.searchParams.set('nonce', nonce);
  u.searchParams.set('code_challenge', await s256(verifier));
  u.searchParams.set('code_challenge_method', 'S256');
  location.assign(u.toString());
}

/**
 * completeOIDC finishes a sign-in when the issuer has sent the browser back
 * with ?code=&state= (or ?error=). It removes them from the address bar
 * whatever happens, and throws a readable Error when the sign-in failed.
 */
export async function completeOIDC(cfg) {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return false;
  const back = takeReturn();
  history.replaceState(null, '', location.pathname + back);
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
  sessionStorage.removeItem(PENDING);
  if (!pending || params.get('state') !== pending.state) {
    throw new Error('Sign-in failed: the answer from the sign-in page does not match this browser tab. Try again.');
  }
  // The issuer's own words are shown only for this tab's sign-in, so a
  // crafted link cannot put text of its choosing on the page.
  if (params.has('error')) {
    throw new Error('Sign-in failed: ' + (params.get('error_description') || params.get('error')));
  }
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    client_id: cfg.clientId,
    code: params.get('code'),
    redirect_uri: cfg.redirectUri,
    code_verifier: pending.verifier,
  });
  let resp;
  try {
    resp = await fetch(cfg.tokenEndpoint, {
      method: 'POST', body, credentials: 'omit', cache: 'no-store',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    });
  } catch {
    throw new Error('Sign-in failed: the sign-in service could not be reached.');
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok || !data.id_token) {
    throw new Error('Sign-in failed: ' + (data.error_description || data.error || 'the sign-in service refused the code') + '.');
  }
  const c = claims(data.id_token);
  const aud = c && (Array.isArray(c.aud) ? c.aud : [c.aud]);
  if (!c || c.nonce !== pending.nonce || !aud.includes(cfg.clientId) || (cfg.issuer && c.iss !== cfg.issuer)) {
    throw new Error('Sign-in failed: the ID token is not one this sign-in asked for.');
  }
  store(data.id_token);
  return true;
}

/** signInLocal gets a demo user's token from the local stack. */
export async function signInLocal(cfg, email, admin) {
  const q = new URLSearchParams({ email });
  if (admin) q.set('admin', 'true');
  let resp;
  try {
    resp = await fetch((cfg.apiBase || '') + '/local/token?' + q.toString(), { credentials: 'omit', cache: 'no-store' });
  } catch {
    throw new Error('The local stack could not be reached.');
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok || !data.access_token) {
    throw new Error((data.error && data.error.message) || 'The local stack gave no token (HTTP ' + resp.status + ').');
  }
  store(data.access_token);
}

/**
 * signOut forgets the token and, with an issuer that has a logout endpoint,
 * ends its session too: then it returns true, as the browser is leaving.
 */
export function signOut(cfg) {
  forget();
  sessionStorage.removeItem(RETURN);
  if (cfg.signInMode === 'oidc' && cfg.logoutEndpoint) {
    const u = new URL(cfg.logoutEndpoint);
    u.searchParams.set('client_id', cfg.clientId);
    u.searchParams.set('logout_uri', cfg.redirectUri);
    location.assign(u.toString());
    return true;
  }
  return false;
}
