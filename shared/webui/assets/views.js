// Pages of every signed-in user: their applications, one application with
// its secrets, designations and audit log, and the creation of a secret.

import * as api from './api.js';
import {
  h, mount, fmtDate, timeEl, ago, plural, expiryBadge, urgency, inDays, badgeClass, roleLabel, copyButton,
  errorBox, loading, toast, field, fieldError, busy, emailText, confirmedDelete, deleteDialog,
} from './dom.js';
import { auditSection } from './audit.js';
import { federatedSection } from './federated.js';
import { keysSection } from './keys.js';

const enc = api.enc;

// askToBeDesignated says whom to ask for a designation: the operator's
// SupportContact (an address or a URL) when it is configured.
function askToBeDesignated(contact) {
  const what = ' to designate you, by email, as a credential manager or viewer of your organisation\'s applications.';
  if (!contact) return 'Ask the registry operator\'s IT team' + what;
  const href = contact.startsWith('https://') ? contact : 'mailto:' + contact;
  return ['Ask ', h('a', { href, text: contact }), what];
}

function title(text) {
  return h('h1', { text, tabindex: '-1' });
}

function apiChips(apis) {
  if (!apis || apis.length === 0) return h('span', { class: 'muted', text: 'no APIs' });
  return h('ul', { class: 'chips', 'aria-label': 'APIs' }, apis.map((a) => h('li', { text: a.name || a.id, title: a.id })));
}

function clientID(id) {
  return h('div', { class: 'client-id' },
    h('span', { class: 'label', text: 'Client ID' }),
    h('code', { text: id }),
    copyButton(() => id, 'client ID'));
}

function thresholds(ctx) {
  return ctx.cfg.reminderThresholds;
}

function nextExpiry(ctx, app) {
  if (!app.activeSecrets) {
    return h('span', { class: 'badge alert', text: 'no active secret: API access fails' });
  }
  if (!app.nextExpiry) return null;
  return h('span', {}, fmtDate(app.nextExpiry), ' ', expiryBadge(app.nextExpiry, thresholds(ctx)));
}

/**
 * expirySummary counts an application's secrets that are inside a reminder
 * threshold or expired: "1 secret expires in 3 days", "2 secrets expire
 * within 12 days", "1 secret expired". Nothing while all are far off.
 */
export function expirySummary(expiries, ts, now = Date.now()) {
  const soon = [];
  let expired = 0;
  for (const iso of expiries || []) {
    const u = urgency(iso, ts, now);
    if (u.expired) expired++;
    else if (u.level !== 'neutral') soon.push(u);
  }
  const out = [];
  if (soon.length === 1) {
    out.push({ level: soon[0].level, text: '1 secret expires ' + inDays(soon[0].days) });
  } else if (soon.length > 1) {
    const last = Math.max(...soon.map((u) => u.days));
    const level = soon.some((u) => u.level === 'red') ? 'red' : 'amber';
    out.push({ level, text: soon.length + ' secrets expire ' + (last === 0 ? 'today' : 'within ' + plural(last, 'day')) });
  }
  if (expired) out.push({ level: 'red', text: expired === 1 ? '1 secret expired' : expired + ' secrets expired' });
  return out;
}

/** canManage tells whether the caller may create and delete secrets. */
function canManage(role) {
  return role === 'credential_manager' || role === 'admin';
}

// --- My applications -------------------------------------------------------

export async function applicationsPage(ctx) {
  const list = h('ul', { class: 'apps', id: 'applications' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, text: 'Show more applications' });
  const status = h('div', {});
  ctx.render(title(homeTitle(ctx)), status, list, more);
  let cursor = '';
  const load = async () => {
    mount(status, loading('Loading applications…'));
    let page;
    try {
      page = await api.get(api.withCursor('/v1/applications', cursor));
    } catch (err) {
      mount(status, errorBox(err, 'The applications could not be loaded.'));
      return;
    }
    mount(status);
    const items = api.itemsOf(page);
    if (!cursor && items.length === 0) {
      mount(status, h('div', { class: 'empty' },
        h('p', { text: ctx.me.admin ? 'There are no applications yet.' : 'You are not designated on any application yet.' }),
        h('p', {}, ctx.me.admin
          ? ['Create one in an organisation: ', h('a', { href: '#/admin/organisations', text: 'Organisations' }), '.']
          : askToBeDesignated(ctx.cfg.supportContact))));
    }
    for (const app of items) list.appendChild(appCard(ctx, app));
    cursor = page.nextCursor || '';
    more.hidden = !cursor;
  };
  more.addEventListener('click', () => busy(more, 'Loading…', load));
  await load();
}

/** homeTitle names the list of applications: all of them for an admin. */
export function homeTitle(ctx) {
  return ctx.me.admin ? 'All applications' : 'My applications';
}

function appCard(ctx, app) {
  const badges = expirySummary(app.secretExpiries, thresholds(ctx));
  return h('li', { class: 'card app', 'data-id': app.id },
    h('div', { class: 'card-head' },
      h('h2', {}, h('a', { href: '#/applications/' + enc(app.id), text: app.name })),
      h('span', { class: 'badge role', text: roleLabel(app.role) })),
    h('p', { class: 'org', text: app.organisation ? app.organisation.name : '' }),
    apiChips(app.apis),
    clientID(app.clientId),
    h('dl', { class: 'facts' },
      h('dt', { text: 'Active secrets' }), h('dd', { class: 'active-secrets', text: String(app.activeSecrets) }),
      h('dt', { text: 'Next expiry' }), h('dd', { class: 'next-expiry' }, nextExpiry(ctx, app) || '—')),
    badges.length ? h('p', { class: 'urgency' }, badges.map((b) => h('span', { class: badgeClass(b.level), 'data-urgency': b.level, text: b.text }))) : null);
}

// --- One application --------------------------------------------------------

function homeCrumb(ctx) {
  return h('a', { href: '#/', text: homeTitle(ctx) });
}

/**
 * limitInfo says how many active secrets the application holds of the
 * deployment's limit, and whether another may be created.
 */
function limitInfo(ctx, app) {
  const limit = ctx.cfg.activeSecretLimit || 0;
  const active = app.activeSecrets || 0;
  return { limit, active, full: limit > 0 && active >= limit };
}

function limitText(l) {
  return l.limit ? l.active + ' of ' + l.limit + ' active secrets' : plural(l.active, 'active secret');
}

const LIMIT_NOTE = 'limit-note';

/** limitNote explains why no secret can be created, and what to do. */
function limitNote(l) {
  return h('p', { class: 'notice warn limit-note', id: LIMIT_NOTE },
    h('strong', { text: 'This application has ' + plural(l.limit, 'active secret') + ', the most it may have. ' }),
    'To create a new one, first delete a secret no API client needs any more (an expired one, or the one the new secret replaces).');
}

export async function applicationPage(ctx, id) {
  ctx.render(title('Application'), loading('Loading the application…'));
  let app;
  let secrets;
  let keys;
  let federated;
  try {
    [app, secrets, keys, federated] = await Promise.all([
      api.get('/v1/applications/' + enc(id)),
      api.listAll('/v1/applications/' + enc(id) + '/secrets'),
      api.listAll('/v1/applications/' + enc(id) + '/keys'),
      api.listAll('/v1/applications/' + enc(id) + '/federated-credentials'),
    ]);
  } catch (err) {
    if (err.status === 401) throw err;
    ctx.render(title('Application'), errorBox(err), h('p', {}, h('a', { href: '#/', text: 'Back to ' + homeTitle(ctx).toLowerCase() })));
    return;
  }
  if (!ctx.alive()) return;
  const manage = canManage(app.role);
  const reload = () => applicationPage(ctx, id).then(() => ctx.focusTitle());
  const audit = h('section', { class: 'audit', 'aria-labelledby': 'audit-title' });
  const l = limitInfo(ctx, app);
  let create = null;
  if (manage) {
    create = l.full
      ? h('button', { type: 'button', id: 'create-secret', disabled: true, 'aria-describedby': LIMIT_NOTE, text: 'Create secret' })
      : h('a', { class: 'button', id: 'create-secret', href: '#/applications/' + enc(id) + '/secrets/new', text: 'Create secret' });
  }
  ctx.render(
    h('p', { class: 'crumbs' }, homeCrumb(ctx), ' / ', app.organisation ? app.organisation.name : ''),
    h('div', { class: 'page-head' },
      title(app.name),
      h('div', { class: 'actions' },
        h('p', { class: 'limit', id: 'secret-count', text: limitText(l) }),
        create,
        ctx.me.admin ? h('a', { class: 'button secondary', href: '#/admin/applications/' + enc(id), text: 'Manage application' }) : null)),
    manage && l.full ? limitNote(l) : null,
    h('div', { class: 'card' },
      h('p', {}, 'Your role: ', h('span', { class: 'badge role', id: 'my-role', text: roleLabel(app.role) })),
      apiChips(app.apis),
      clientID(app.clientId),
      manage ? null : h('p', { class: 'hint', text: 'As a viewer you can see this application and its secrets, but not create or delete them.' })),
    secretsSection(ctx, app, secrets, manage, reload),
    keysSection(ctx, app, keys, manage, reload),
    federatedSection(ctx, app, federated, manage, reload),
    designationsSection(app),
    audit);
  await auditSection(audit, app);
}

function secretsSection(ctx, app, secrets, manage, reload) {
  const section = h('section', { 'aria-labelledby': 'secrets-title' }, h('h2', { id: 'secrets-title', text: 'Client secrets' }));
  if (secrets.length === 0) {
    section.appendChild(h('div', { class: 'empty' },
      h('p', { text: 'This application has no client secrets, so its API clients cannot get access tokens.' }),
      h('p', { text: manage ? 'Create a secret and give it to whoever runs the API client.' : 'Ask one of its credential managers to create one.' })));
    return section;
  }
  const rows = secrets.map((s) => {
    const expired = s.status !== 'active';
    return h('tr', { 'data-secret': s.id, 'data-hint': s.hint },
      h('td', { 'data-label': 'Name', class: 'name', text: s.name }),
      h('td', { 'data-label': 'Hint' }, h('code', { class: 'hint-value', text: s.hint + '…' })),
      h('td', { 'data-label': 'Created' }, timeEl(s.createdAt), h('br'), h('span', { class: 'muted' }, 'by ', emailText(s.createdBy))),
      h('td', { 'data-label': 'Expires', class: 'expires' }, timeEl(s.expiresAt), ' ', expiryBadge(s.expiresAt, thresholds(ctx))),
      h('td', { 'data-label': 'Last used', class: 'last-used' }, s.lastUsedAt ? [timeEl(s.lastUsedAt), h('br'), h('span', { class: 'muted', text: ago(s.lastUsedAt) })] : 'never'),
      h('td', { 'data-label': 'Status' }, s.status === 'leaked'
        ? h('span', { class: 'badge alert', title: 'Found in public and still working: replace it, then delete it.', text: 'leaked' })
        : h('span', { class: expired ? 'badge alert' : 'badge ok', text: s.status })),
      manage ? h('td', { 'data-label': '' },
        h('button', { type: 'button', class: 'quiet small delete', 'aria-label': 'Delete secret ' + s.name, text: 'Delete', onclick: (e) => deleteSecret(e.currentTarget, app, s, reload) })) : null);
  });
  section.appendChild(h('div', { class: 'table-wrap' },
    h('table', { class: 'secrets', id: 'secrets' },
      h('thead', {}, h('tr', {},
        ['Name', 'Hint', 'Created', 'Expires', 'Last used', 'Status'].map((c) => h('th', { scope: 'col', text: c })),
        manage ? h('th', { scope: 'col' }, h('span', { class: 'sr-only', text: 'Actions' })) : null)),
      h('tbody', {}, rows))));
  return section;
}

/** deleteSecret confirms (more strongly for a secret in use) and deletes. */
async function deleteSecret(btn, app, s, reload) {
  const deleted = await confirmedDelete(btn, 'secret', s.lastUsedAt, (strong) => deleteDialog(
    strong ? 'This secret is in use' : 'Delete this secret?', strong ? 'Delete anyway' : 'Delete secret',
    [
      h('p', {}, 'Secret ', h('strong', { text: s.name }), ' (', h('code', { text: s.hint + '…' }), ') of ', h('strong', { text: app.name }), '.'),
      h('p', { text: 'Deleting takes effect at once: the next token request with this secret fails. This cannot be undone.' }),
    ],
    strong && {
      lastUsedAt: s.lastUsedAt,
      warning: 'Something is still using this secret. Make sure every API client has moved to a newer secret, or it stops working now.',
      ack: 'I understand that clients still using this secret stop working',
    }), (strong) => api.call('DELETE', '/v1/applications/' + enc(app.id) + '/secrets/' + enc(s.id) + (strong ? '?confirm=true' : '')));
  if (!deleted) return;
  toast('Secret "' + s.name + '" (' + s.hint + '…) deleted from ' + app.name + '.');
  await reload();
}

function designationsSection(app) {
  const ds = app.designations || [];
  return h('section', { 'aria-labelledby': 'designations-title' },
    h('h2', { id: 'designations-title', text: 'Designated people' }),
    ds.length === 0
      ? h('p', { class: 'empty', text: 'Nobody is designated on this application yet; an admin can designate credential managers.' })
      : h('ul', { class: 'designations', id: 'designations' }, ds.map((d) => h('li', {},
        emailText(d.email), ' ', h('span', { class: 'badge role', text: roleLabel(d.role) })))));
}

// --- Create a secret ----------------------------------------------------------

/** suggestedName turns alice.smith@x into "Secret by Alice Smith". */
export function suggestedName(email) {
  const local = (email || '').split('@')[0];
  const words = local.split(/[._+-]+/).filter(Boolean).map((w) => w.charAt(0).toUpperCase() + w.slice(1));
  return ('Secret by ' + (words.join(' ') || 'me')).slice(0, 100);
}

export async function newSecretPage(ctx, id) {
  ctx.render(title('Create a client secret'), loading('Loading the application…'));
  let app;
  try {
    app = await api.get('/v1/applications/' + enc(id));
  } catch (err) {
    if (err.status === 401) throw err;
    ctx.render(title('Create a client secret'), errorBox(err));
    return;
  }
  if (!ctx.alive()) return;
  api.tokenEndpoint().catch(() => {}); // ready for the hand-off
  const back = '#/applications/' + enc(id);
  const crumbs = h('p', { class: 'crumbs' }, homeCrumb(ctx), ' / ', h('a', { href: back, text: app.name }));
  if (!canManage(app.role)) {
    ctx.render(crumbs, title('Create a client secret'),
      h('div', { class: 'notice error', role: 'alert', text: 'Only the application\'s credential managers and admins may create secrets.' }));
    return;
  }
  const l = limitInfo(ctx, app);
  if (l.full) {
    ctx.render(crumbs, title('Create a client secret'),
      h('p', { class: 'limit', id: 'secret-count', text: limitText(l) }),
      limitNote(l),
      h('p', {}, h('a', { href: back, class: 'button', text: 'Go to ' + app.name + '\'s secrets' })));
    return;
  }
  const max = ctx.cfg.maxLifetimeDays || 365;
  const name = h('input', { type: 'text', name: 'name', id: 'secret-name', required: true, maxlength: '100', autocomplete: 'off' });
  name.value = suggestedName(ctx.me.email);
  const presets = [30, 90, 180, 365].filter((d) => d <= max);
  if (!presets.includes(max) && max < 365) presets.push(max);
  const day = 86400000;
  const today = new Date();
  const iso = (t) => new Date(t).toISOString().slice(0, 10);
  const date = h('input', { type: 'date', id: 'secret-date', name: 'date', min: iso(today.getTime() + day), max: iso(today.getTime() + max * day), disabled: true });
  const choice = (value, label, checked) => {
    const rid = 'life-' + value;
    const input = h('input', { type: 'radio', name: 'lifetime', id: rid, value: String(value), checked });
    return h('div', { class: 'check' }, input, h('label', { for: rid, text: label }));
  };
  const fieldset = h('fieldset', { class: 'lifetime' },
    h('legend', { text: 'Lifetime' }),
    presets.map((d) => choice(d, plural(d, 'day') + ' (until ' + fmtDate(new Date(today.getTime() + d * day).toISOString()) + ')', d === Math.min(90, max) || (max < 90 && d === max))),
    choice('date', 'Until a date', false),
    field('Expiry date', date, 'At most ' + plural(max, 'day') + ' from today.'));
  fieldset.addEventListener('change', () => {
    const v = fieldset.querySelector('input[name=lifetime]:checked');
    date.disabled = !v || v.value !== 'date';
    if (!date.disabled) date.focus();
  });
  const errorEl = h('div', {});
  const submit = h('button', { type: 'submit', id: 'create-submit', text: 'Create secret' });
  const form = h('form', { class: 'card', novalidate: true },
    field('Name', name, 'Say who or what uses it, so people know what to rotate. 1 to 100 characters.'),
    fieldset,
    errorEl,
    h('div', { class: 'form-actions' }, submit, h('a', { href: back, class: 'button secondary', text: 'Cancel' })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    mount(errorEl);
    const n = name.value.trim();
    if (n.length < 1 || n.length > 100) {
      fieldError(name, 'Give the secret a name of 1 to 100 characters.').focus();
      return;
    }
    const picked = fieldset.querySelector('input[name=lifetime]:checked');
    const body = { name: n };
    if (picked && picked.value === 'date') {
      if (!date.value) {
        fieldError(date, 'Choose the expiry date.').focus();
        return;
      }
      // The chosen day, at the current time of day, kept inside the allowed range.
      const now = Date.now();
      let at = Date.parse(date.value + 'T00:00:00Z') + (now % day);
      if (Date.parse(date.value + 'T00:00:00Z') > now + max * day) {
        fieldError(date, 'The expiry date must be at most ' + plural(max, 'day') + ' from today.').focus();
        return;
      }
      at = Math.min(at, now + max * day - 120000);
      at = Math.max(at, now + day + 120000);
      body.expiresAt = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
    } else {
      body.lifetimeDays = Number(picked ? picked.value : 90);
    }
    let created;
    try {
      created = await busy(submit, 'Creating…', () => api.call('POST', '/v1/applications/' + enc(id) + '/secrets', body));
    } catch (err) {
      if (err.status === 401) return;
      if (err.code === 'invalid_name' || (err.status === 400 && /name/i.test(err.message))) {
        fieldError(name, err.message).focus();
        return;
      }
      mount(errorEl, errorBox(err, 'The secret was not created.'));
      return;
    }
    if (!ctx.alive()) return;
    showCreated(ctx, app, created, back, crumbs);
  });
  ctx.render(crumbs, title('Create a client secret'),
    h('p', {}, 'For ' + app.name + ' (' + (app.organisation ? app.organisation.name : '') + '). ',
      h('span', { id: 'secret-count', text: limitText(l) + ' now' }), '. The value is shown once, right after you create it.'),
    form);
}

/** snippet is a titled block of code with a copy button. */
function snippet(id, heading, what, code) {
  return h('div', { class: 'snippet' },
    h('h3', { id: id + '-title', text: heading }),
    h('pre', { id, tabindex: '0' }, h('code', { text: code })),
    copyButton(() => code, what));
}

/**
 * handoff tells whoever runs the API client how to use the secret: the
 * client id, the token endpoint, and a token request in curl and Python that
 * read the value from $CLIENT_SECRET, so that it appears nowhere but in the
 * copy-once box above.
 */
function handoff(app, tokenURL) {
  const curl = 'curl -s -u "' + app.clientId + ':$CLIENT_SECRET" \\\n' +
    '  -d grant_type=client_credentials \\\n' +
    '  ' + tokenURL;
  const python = 'import os\nimport requests\n\n' +
    'resp = requests.post(\n' +
    '    "' + tokenURL + '",\n' +
    '    auth=("' + app.clientId + '", os.environ["CLIENT_SECRET"]),\n' +
    '    data={"grant_type": "client_credentials"},\n' +
    '    timeout=10,\n' +
    ')\n' +
    'resp.raise_for_status()\n' +
    'access_token = resp.json()["access_token"]  # valid for 1 hour: ask again when it expires\n';
  return h('section', { class: 'card handoff', 'aria-labelledby': 'handoff-title' },
    h('h2', { id: 'handoff-title', text: 'How the API client uses it' }),
    h('p', {}, 'The client exchanges its client ID and this secret for an access token (OAuth 2.0 client credentials), then sends the token to the APIs of ' + app.name + '. Put the secret in the client\'s environment as ', h('code', { text: 'CLIENT_SECRET' }), '.'),
    h('dl', {},
      h('dt', { text: 'Client ID' }), h('dd', { class: 'copyable' }, h('code', { id: 'handoff-client-id', text: app.clientId }), copyButton(() => app.clientId, 'client ID')),
      h('dt', { text: 'Token endpoint' }), h('dd', { class: 'copyable' }, h('code', { id: 'token-endpoint', text: tokenURL }), copyButton(() => tokenURL, 'token endpoint'))),
    snippet('curl-snippet', 'Request a token with curl', 'curl command', curl),
    snippet('python-snippet', 'Request a token in Python (requests)', 'Python code', python));
}

async function showCreated(ctx, app, created, back, crumbs) {
  let value = created.value;
  created.value = '';
  const valueEl = h('code', { class: 'secret-value', id: 'secret-value', text: value });
  const done = h('a', { href: back, class: 'button', id: 'secret-done', text: 'Done: I have stored it' });
  const use = h('div', {}, loading('Loading the token endpoint…'));
  ctx.render(crumbs,
    title('Secret created'),
    h('div', { class: 'notice alert', role: 'alert' },
      h('strong', { text: 'Copy this value now: you will not see it again. ' }),
      'The portal keeps only a hash of it. Store it in your secret manager and give it to the API client of ' + app.name + '.'),
    h('div', { class: 'card reveal' },
      h('p', {}, h('strong', { text: created.name }), ' · hint ', h('code', { text: created.hint + '…' }),
        ' · expires ', timeEl(created.expiresAt)),
      h('div', { class: 'value-row' }, valueEl, copyButton(() => value, 'secret value'))),
    use,
    h('div', { class: 'form-actions' }, done));
  // Forget the value when the page changes.
  const forget = () => {
    value = '';
    valueEl.textContent = '';
    window.removeEventListener('hashchange', forget);
  };
  window.addEventListener('hashchange', forget);
  let tokenURL;
  try {
    tokenURL = await api.tokenEndpoint();
  } catch (err) {
    mount(use, errorBox(new Error('The token endpoint could not be looked up (' + err.message + '); it is listed as token_endpoint at /.well-known/oauth-authorization-server.')));
    return;
  }
  if (!ctx.alive()) return;
  mount(use, handoff(app, tokenURL));
}
