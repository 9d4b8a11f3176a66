// The sign-in page: the issuer's hosted sign-in in OIDC mode, a choice of
// demo users in local mode.

import * as auth from './auth.js';
import { h, field, busy } from './dom.js';

export function signInPage(ctx, error, done) {
  const { cfg } = ctx;
  const errorEl = h('div', { class: 'notice error', role: 'alert', hidden: !error, text: error || '' });
  const fail = (err) => {
    errorEl.textContent = err.message;
    errorEl.hidden = false;
  };
  if (cfg.signInMode !== 'local') {
    const btn = h('button', { type: 'button', id: 'oidc-sign-in', text: 'Sign in' });
    btn.addEventListener('click', () => busy(btn, 'Opening sign-in…', () => auth.startOIDC(cfg)).catch(fail));
    ctx.render(
      h('section', { class: 'signin card' },
        h('h1', { text: 'Sign in', tabindex: '-1' }),
        h('p', { text: 'Manage the client secrets of the API applications your organisation holds with the registry.' }),
        errorEl,
        btn,
        h('p', { class: 'hint', text: 'You sign in on the registry operator\'s sign-in page, with multi-factor authentication, and come back here.' })));
    return;
  }
  const signIn = async (btn, email, admin) => {
    try {
      await busy(btn, 'Signing in…', () => auth.signInLocal(cfg, email, admin));
    } catch (err) {
      fail(err);
      return;
    }
    await done();
  };
  const users = (cfg.demoUsers || []).map((u) => {
    const btn = h('button', { type: 'button', class: 'user', 'data-email': u.email },
      h('span', { class: 'email', text: u.email }),
      u.admin ? h('span', { class: 'badge admin', text: 'admin' }) : null,
      h('span', { class: 'note', text: u.note }));
    btn.addEventListener('click', () => signIn(btn, u.email, u.admin));
    return h('li', {}, btn);
  });
  const email = h('input', { type: 'email', name: 'email', required: true, autocomplete: 'email', placeholder: 'someone@example.com' });
  const admin = h('input', { type: 'checkbox', name: 'admin', id: 'other-admin' });
  const submit = h('button', { type: 'submit', text: 'Sign in' });
  const form = h('form', { class: 'other' },
    field('Email', email),
    h('div', { class: 'check' }, admin, h('label', { for: 'other-admin', text: 'Admin (the portal-admins group)' })),
    submit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    signIn(submit, email.value.trim(), admin.checked);
  });
  ctx.render(
    h('section', { class: 'signin card' },
      h('h1', { text: 'Sign in (local demo)', tabindex: '-1' }),
      h('p', { text: 'This portal runs on the local stack. Choose a demo user; the stack issues a token as the sign-in service would.' }),
      errorEl,
      h('ul', { class: 'users', 'aria-label': 'Demo users' }, users),
      h('h2', { text: 'Another user' }),
      form));
}
