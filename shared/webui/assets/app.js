// The portal UI: loads /config.json, signs the user in, and routes on the
// location hash (#/applications/<id> and so on), so that one GET / serves
// every page and links in emails work.

import * as api from './api.js';
import * as auth from './auth.js';
import { h, mount, errorBox, loading } from './dom.js';
import { signInPage } from './signin.js';
import { applicationsPage, applicationPage, newSecretPage } from './views.js';
import { organisationsPage, organisationPage, adminApplicationPage } from './admin.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');

const state = { cfg: null, me: null, gen: 0, signInError: null };

function routes() {
  return [
    [/^#\/(applications\/?)?$/, () => applicationsPage],
    [/^#\/applications\/([^/]+)$/, (m) => (ctx) => applicationPage(ctx, m[1])],
    [/^#\/applications\/([^/]+)\/secrets\/new$/, (m) => (ctx) => newSecretPage(ctx, m[1])],
    [/^#\/admin(\/organisations)?\/?$/, () => adminOnly(organisationsPage)],
    [/^#\/admin\/organisations\/([^/]+)$/, (m) => adminOnly((ctx) => organisationPage(ctx, m[1]))],
    [/^#\/admin\/applications\/([^/]+)$/, (m) => adminOnly((ctx) => adminApplicationPage(ctx, m[1]))],
  ];
}

function adminOnly(page) {
  return (ctx) => {
    if (!ctx.me.admin) {
      ctx.render(h('h1', { text: 'Not allowed', tabindex: '-1' }),
        h('p', { text: 'Only admins of the portal may open this page.' }),
        h('p', {}, h('a', { href: '#/', text: 'Back to my applications' })));
      return;
    }
    return page(ctx);
  };
}

function notFound(ctx) {
  ctx.render(h('h1', { text: 'Page not found', tabindex: '-1' }),
    h('p', {}, 'There is no page at this address. ', h('a', { href: '#/', text: 'Go to my applications' })));
}

/** context gives a page what it needs, and a way to tell it is still current. */
function context(gen) {
  return {
    cfg: state.cfg,
    me: state.me,
    alive: () => gen === state.gen,
    render: (...children) => {
      if (gen !== state.gen) return;
      mount(main, ...children);
    },
    focusTitle: () => {
      const t = main.querySelector('h1');
      if (t && gen === state.gen) t.focus();
    },
    refresh: () => route(),
  };
}

function renderChrome() {
  if (!state.me) {
    mount(nav);
    mount(who);
    return;
  }
  const current = location.hash || '#/';
  const link = (href, text, active) => h('a', { href, text, 'aria-current': active ? 'page' : null });
  mount(nav,
    link('#/', state.me.admin ? 'All applications' : 'My applications', !current.startsWith('#/admin')),
    state.me.admin ? link('#/admin/organisations', 'Organisations', current.startsWith('#/admin')) : null);
  mount(who,
    h('span', { class: 'email', text: state.me.email }),
    state.me.admin ? h('span', { class: 'badge admin', text: 'admin' }) : null,
    h('button', { type: 'button', class: 'secondary small', id: 'sign-out', text: 'Sign out', onclick: signOut }));
}

async function route() {
  const gen = ++state.gen;
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return;
  if (!auth.token()) {
    state.me = null;
    renderChrome();
    auth.rememberReturn(hash);
    signInPage(context(gen), state.signInError, async () => {
      state.signInError = null;
      location.hash = auth.takeReturn();
      await route();
    });
    return;
  }
  if (!state.me) {
    mount(main, loading('Loading your account…'));
    try {
      state.me = await api.get('/v1/me');
    } catch (err) {
      if (gen !== state.gen) return;
      if (err.status === 401) return;
      mount(main, h('h1', { text: 'The portal could not load', tabindex: '-1' }), errorBox(err),
        h('button', { type: 'button', text: 'Try again', onclick: () => route() }));
      return;
    }
    if (gen !== state.gen) return;
  }
  renderChrome();
  const ctx = context(gen);
  let page = notFound;
  for (const [re, make] of routes()) {
    const m = hash.match(re);
    if (m) {
      page = make(m);
      break;
    }
  }
  try {
    await page(ctx);
  } catch (err) {
    if (err.status === 401) return;
    ctx.render(h('h1', { text: 'Something went wrong', tabindex: '-1' }), errorBox(err));
  }
  ctx.focusTitle();
}

function signOut() {
  state.me = null;
  if (auth.signOut(state.cfg)) return;
  history.replaceState(null, '', location.pathname + '#/');
  route();
}

function onUnauthorized() {
  auth.forget();
  state.me = null;
  state.signInError = 'Your session has ended. Sign in again to continue.';
  route();
}

/**
 * pathToHash turns <portal>/applications/<id>, the links in emails, into
 * <portal>#/applications/<id>, the page's own route.
 */
function pathToHash(cfg) {
  let base = '/';
  try {
    base = new URL(cfg.redirectUri).pathname;
  } catch {
    base = '/';
  }
  if (!base.endsWith('/')) base += '/';
  const rest = location.pathname.startsWith(base) ? location.pathname.slice(base.length) : '';
  const m = rest.match(/^applications\/([^/]+)$/);
  if (m) history.replaceState(null, '', base + location.search + '#/applications/' + m[1]);
}

async function boot() {
  document.getElementById('skip').addEventListener('click', (e) => {
    e.preventDefault();
    main.focus();
  });
  try {
    const resp = await fetch('/config.json', { cache: 'no-cache', credentials: 'omit' });
    if (!resp.ok) throw new Error('HTTP ' + resp.status);
    state.cfg = await resp.json();
  } catch (err) {
    mount(main, errorBox(new Error('The portal configuration could not be loaded (' + err.message + '). Reload the page.')));
    return;
  }
  pathToHash(state.cfg);
  api.configure(state.cfg.apiBase, auth.token, onUnauthorized);
  if (state.cfg.signInMode === 'oidc') {
    try {
      await auth.completeOIDC(state.cfg);
    } catch (err) {
      state.signInError = err.message;
    }
  }
  window.addEventListener('hashchange', () => route());
  await route();
}

boot();
