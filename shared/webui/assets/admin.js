// Admin pages: organisations, their applications, API permissions and
// designations. Every change shows the warnings the admin API answers with.

import * as api from './api.js';
import { h, mount, fmtDate, timeEl, roleLabel, errorBox, loading, openDialog, toast, field, fieldError, busy, emailText } from './dom.js';

const enc = api.enc;

function title(text) {
  return h('h1', { text, tabindex: '-1' });
}

function crumbs(...parts) {
  const out = [h('a', { href: '#/admin/organisations', text: 'Organisations' })];
  for (const p of parts) out.push(' / ', p);
  return h('p', { class: 'crumbs' }, out);
}

/** warningText reads one warning, {code, message}: its sentence. */
function warningText(w) {
  return w.message || w.code;
}

function warningsBox(warnings) {
  if (!warnings || warnings.length === 0) return null;
  return h('div', { class: 'notice warn', role: 'status', id: 'warnings' },
    h('strong', { text: 'Warnings' }),
    h('ul', {}, warnings.map((w) => h('li', { text: warningText(w) }))));
}

let catalogueCache = null;
async function catalogue() {
  if (!catalogueCache) catalogueCache = api.itemsOf(await api.get('/v1/admin/apis'));
  return catalogueCache;
}

function apiCheckboxes(apis, selected) {
  const set = new Set(selected || []);
  return h('fieldset', { class: 'apis', id: 'apis-' + Math.random().toString(36).slice(2) },
    h('legend', { text: 'APIs' }),
    apis.map((a) => {
      const id = 'api-' + a.id;
      return h('div', { class: 'check' },
        h('input', { type: 'checkbox', name: 'api', id, value: a.id, checked: set.has(a.id) }),
        h('label', { for: id, text: a.name + ' ' }, h('code', { class: 'muted', text: a.id })));
    }));
}

function checkedAPIs(form) {
  return [...form.querySelectorAll('input[name=api]:checked')].map((i) => i.value);
}

/**
 * applicationInput reads an application's name and APIs, or marks what is
 * missing beside its field, focuses the first, and returns null.
 */
function applicationInput(name, apiSet) {
  const body = { name: name.value.trim(), apis: checkedAPIs(apiSet) };
  const bad = [];
  if (!body.name) bad.push(fieldError(name, 'Give the application a name.'));
  if (body.apis.length === 0) bad.push(fieldError(apiSet, 'Choose at least one API.'));
  if (bad.length) {
    bad[0].focus();
    return null;
  }
  return body;
}

// --- Organisations ------------------------------------------------------------

export async function organisationsPage(ctx) {
  const status = h('div', {}, loading('Loading organisations…'));
  const list = h('ul', { class: 'orgs', id: 'organisations' });
  const name = h('input', { type: 'text', name: 'name', id: 'org-name', required: true, maxlength: '100', autocomplete: 'organization' });
  const country = h('input', { type: 'text', name: 'country', id: 'org-country', required: true, maxlength: '2', pattern: '[A-Za-z]{2}', autocomplete: 'country', class: 'short' });
  const formError = h('div', {});
  const submit = h('button', { type: 'submit', text: 'Create organisation' });
  const form = h('form', { class: 'card', id: 'create-organisation', novalidate: true },
    h('h2', { text: 'New organisation' }),
    field('Name', name),
    field('Country', country, 'Two-letter ISO 3166 code, e.g. GB or DE.'),
    formError, h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    mount(formError);
    const body = { name: name.value.trim(), country: country.value.trim().toUpperCase() };
    const bad = [];
    if (!/^[A-Z]{2}$/.test(body.country)) bad.push(fieldError(country, 'Give the two-letter country code, e.g. GB.'));
    if (!body.name) bad.unshift(fieldError(name, 'Give the organisation\'s name.'));
    if (bad.length) {
      bad[0].focus();
      return;
    }
    let org;
    try {
      org = await busy(submit, 'Creating…', () => api.call('POST', '/v1/admin/organisations', body));
    } catch (err) {
      mount(formError, errorBox(err, 'Not created.'));
      return;
    }
    toast('Organisation "' + org.name + '" created.');
    location.hash = '#/admin/organisations/' + enc(org.id);
  });
  ctx.render(title('Organisations'), status, list, form);
  let orgs;
  try {
    orgs = await api.listAll('/v1/admin/organisations');
  } catch (err) {
    if (err.status === 401) throw err;
    mount(status, errorBox(err, 'The organisations could not be loaded.'));
    return;
  }
  mount(status, orgs.length === 0 ? h('p', { class: 'empty', text: 'No organisations yet. Create the first one below.' }) : null);
  for (const o of orgs) {
    list.appendChild(h('li', { class: 'card' },
      h('a', { href: '#/admin/organisations/' + enc(o.id), text: o.name }),
      ' ', h('span', { class: 'badge', text: o.country }),
      o.createdAt ? h('span', { class: 'muted', text: ' since ' + fmtDate(o.createdAt) }) : null));
  }
}

// --- One organisation and its applications ----------------------------------

export async function organisationPage(ctx, orgID) {
  ctx.render(title('Organisation'), loading('Loading the organisation…'));
  let orgs;
  let apps;
  let apis;
  try {
    [orgs, apps, apis] = await Promise.all([api.listAll('/v1/admin/organisations'), api.listAll('/v1/applications'), catalogue()]);
  } catch (err) {
    if (err.status === 401) throw err;
    ctx.render(title('Organisation'), errorBox(err));
    return;
  }
  const org = orgs.find((o) => o.id === orgID);
  if (!org) {
    ctx.render(crumbs(), title('Organisation not found'), h('p', { text: 'There is no organisation with this id.' }));
    return;
  }
  const mine = apps.filter((a) => a.organisation && a.organisation.id === orgID);
  const name = h('input', { type: 'text', name: 'name', id: 'app-name', required: true, maxlength: '100', autocomplete: 'off' });
  const formError = h('div', {});
  const submit = h('button', { type: 'submit', id: 'create-application', text: 'Create application' });
  const apiSet = apiCheckboxes(apis, []);
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', { text: 'New application' }),
    field('Name', name),
    apiSet,
    formError, h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    mount(formError);
    const body = applicationInput(name, apiSet);
    if (!body) return;
    let app;
    try {
      app = await busy(submit, 'Creating…', () => api.call('POST', '/v1/admin/organisations/' + enc(orgID) + '/applications', body));
    } catch (err) {
      mount(formError, errorBox(err, 'Not created.'));
      return;
    }
    toast('Application "' + app.name + '" created; client ID ' + app.clientId + '.');
    lastWarnings.set(app.id, app.warnings || []);
    location.hash = '#/admin/applications/' + enc(app.id);
  });
  ctx.render(crumbs(h('span', { text: org.name })),
    title(org.name),
    h('p', { class: 'muted', text: 'Country ' + org.country }),
    h('h2', { text: 'Applications' }),
    mine.length === 0
      ? h('p', { class: 'empty', text: 'This organisation has no applications yet. Create one below, then designate its credential managers.' })
      : h('ul', { class: 'apps-admin', id: 'org-applications' }, mine.map((a) => h('li', { class: 'card' },
        h('a', { href: '#/admin/applications/' + enc(a.id), text: a.name }), ' ',
        h('code', { class: 'muted', text: a.clientId }), ' ',
        h('span', { class: 'muted', text: a.activeSecrets + ' active secrets' })))),
    form);
}

/** article names a role with its article: "a credential manager", "a viewer". */
function article(r) {
  return 'a ' + roleLabel(r).toLowerCase();
}

// Warnings of the last change per application, shown when its page opens.
const lastWarnings = new Map();

// --- One application: APIs and designations ---------------------------------

export async function adminApplicationPage(ctx, id, warnings) {
  ctx.render(title('Application'), loading('Loading the application…'));
  let app;
  let apis;
  try {
    [app, apis] = await Promise.all([api.get('/v1/applications/' + enc(id)), catalogue()]);
  } catch (err) {
    if (err.status === 401) throw err;
    ctx.render(title('Application'), errorBox(err));
    return;
  }
  if (!ctx.alive()) return;
  if (warnings === undefined) warnings = lastWarnings.get(id) || app.warnings || [];
  lastWarnings.delete(id);
  const reload = (w) => adminApplicationPage(ctx, id, w).then(() => ctx.focusTitle());
  const apply = async (btn, text, done, fn) => {
    let res;
    try {
      res = await busy(btn, text, fn);
    } catch (err) {
      if (err.status === 401) return;
      await openDialog('The change was not made', (close) => h('div', {}, errorBox(err),
        h('div', { class: 'dialog-actions' }, h('button', { type: 'button', autofocus: true, text: 'Close', onclick: () => close() }))));
      return;
    }
    toast(done);
    await reload(res && Array.isArray(res.warnings) ? res.warnings : undefined);
  };

  // Name and APIs.
  const name = h('input', { type: 'text', name: 'name', id: 'edit-name', required: true, maxlength: '100', autocomplete: 'off' });
  name.value = app.name;
  const save = h('button', { type: 'submit', id: 'save-application', text: 'Save name and APIs' });
  const editAPIs = apiCheckboxes(apis, (app.apis || []).map((a) => a.id));
  const edit = h('form', { class: 'card', novalidate: true },
    h('h2', { text: 'Name and APIs' }),
    field('Name', name),
    editAPIs,
    h('div', { class: 'form-actions' }, save));
  edit.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = applicationInput(name, editAPIs);
    if (!body) return;
    apply(save, 'Saving…', body.name + ': name and APIs saved.', () => api.call('PATCH', '/v1/admin/applications/' + enc(id), body));
  });

  // Designations.
  const stranded = strandedOn(id, app.designations || []);
  const rows = (app.designations || []).map((d) => {
    const sel = h('select', { 'aria-label': 'Role of ' + d.email, class: 'role' },
      ['credential_manager', 'viewer'].map((r) => h('option', { value: r, selected: r === d.role, text: roleLabel(r) })));
    const change = h('button', { type: 'button', class: 'secondary small change-role', text: 'Change role', 'aria-label': 'Change role of ' + d.email });
    change.addEventListener('click', () => apply(change, 'Saving…', d.email + ' is now ' + article(sel.value) + ' on ' + app.name + '.', () => api.call('PUT',
      '/v1/admin/applications/' + enc(id) + '/designations/' + enc(d.email), { role: sel.value })));
    const remove = h('button', { type: 'button', class: 'quiet small remove', text: 'Remove', 'aria-label': 'Remove ' + d.email });
    remove.addEventListener('click', async () => {
      const ok = await openDialog('Remove ' + d.email + '?', (close) => h('div', {},
        h('p', { text: d.email + ' will no longer see ' + app.name + (d.role === 'credential_manager' ? ' nor receive its expiry reminders.' : '.') }),
        h('div', { class: 'dialog-actions' },
          h('button', { type: 'button', class: 'secondary', autofocus: true, text: 'Cancel', onclick: () => close(false) }),
          h('button', { type: 'button', class: 'danger', id: 'confirm-remove', text: 'Remove', onclick: () => close(true) }))));
      if (ok) apply(remove, 'Removing…', d.email + ' no longer has access to ' + app.name + '.', () => api.call('DELETE', '/v1/admin/applications/' + enc(id) + '/designations/' + enc(d.email)));
    });
    return h('tr', { 'data-email': d.email },
      h('td', { 'data-label': 'Email', class: 'designee' }, emailText(d.email)),
      h('td', { 'data-label': 'Role' }, h('div', { class: 'role-cell' }, sel, change)),
      h('td', { 'data-label': 'Sign-in', class: 'binding' }, bindingCell(d, (btn) => resetBinding(btn, app, d, reload))),
      h('td', { 'data-label': '' }, remove));
  });
  const email = h('input', { type: 'email', name: 'email', id: 'designate-email', required: true, autocomplete: 'off' });
  const role = h('select', { name: 'role', id: 'designate-role' },
    h('option', { value: 'credential_manager', text: roleLabel('credential_manager') }),
    h('option', { value: 'viewer', text: roleLabel('viewer') }));
  const add = h('button', { type: 'submit', id: 'designate', text: 'Designate' });
  const addForm = h('form', { class: 'inline', novalidate: true }, field('Email', email), field('Role', role), add);
  addForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = email.value.trim().toLowerCase();
    if (!/^[^@\s]+@[^@\s]+$/.test(v)) {
      fieldError(email, 'Give the person\'s email address, e.g. name@example.com.').focus();
      return;
    }
    apply(add, 'Designating…', v + ' is now ' + article(role.value) + ' on ' + app.name + '.', () => api.call('PUT', '/v1/admin/applications/' + enc(id) + '/designations/' + enc(v), { role: role.value }));
  });

  ctx.render(
    crumbs(app.organisation ? h('a', { href: '#/admin/organisations/' + enc(app.organisation.id), text: app.organisation.name }) : '', h('span', { text: app.name })),
    h('div', { class: 'page-head' }, title(app.name),
      h('div', { class: 'actions' }, h('a', { class: 'button secondary', href: '#/applications/' + enc(id), text: 'Secrets and audit log' }))),
    warningsBox(warnings),
    h('p', {}, 'Client ID ', h('code', { id: 'admin-client-id', text: app.clientId })),
    edit,
    h('section', { class: 'card', 'aria-labelledby': 'des-title' },
      h('h2', { id: 'des-title', text: 'Designations' }),
      h('p', { class: 'hint', text: 'An application should have at least two credential managers, so that reminders reach someone when one is away.' }),
      h('p', { class: 'hint', id: 'binding-hint', text: 'A designation belongs to the account that first signs in with its email: another account with the same email is refused. Resetting the binding (removing the designation and adding it again) lets the next sign-in claim it.' }),
      stranded.map((p) => strandedNotice(app, p, reload)),
      rows.length === 0 ? h('p', { class: 'empty', text: 'Nobody is designated yet. Designate a credential manager below.' })
        : h('div', { class: 'table-wrap' }, h('table', { id: 'admin-designations' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Email' }), h('th', { scope: 'col', text: 'Role' }),
            h('th', { scope: 'col', text: 'Sign-in' }),
            h('th', { scope: 'col' }, h('span', { class: 'sr-only', text: 'Actions' })))),
          h('tbody', {}, rows))),
      h('h3', { text: 'Designate someone' }),
      addForm));
}

// --- Identity bindings --------------------------------------------------------

/**
 * bindingCell tells whom a designation is bound to: "Signed in as <subject>
 * at <issuer>, since <time>", with a Reset binding button, or "Not used
 * yet". Subjects and issuers wrap anywhere, so a long one never widens the
 * page, and are shown whole.
 */
function bindingCell(d, onReset) {
  const b = d.binding;
  if (!b) return h('span', { class: 'muted unbound', text: 'Not used yet' });
  const reset = h('button', { type: 'button', class: 'quiet small reset-binding', text: 'Reset binding', 'aria-label': 'Reset binding of ' + d.email });
  reset.addEventListener('click', () => onReset(reset));
  return h('div', { class: 'bound' },
    h('p', {}, 'Signed in as ', h('code', { class: 'subject', text: b.subject }),
      ' at ', h('code', { class: 'issuer', text: b.issuer }), ', since ', timeEl(b.boundAt)),
    reset);
}

// Designations a reset removed but could not add back, per application:
// [{email, role, message}]. Kept in memory and, where the browser allows,
// in sessionStorage, so that a reload of the tab keeps telling.
const STRANDED = 'credportal.stranded';
const stranded = new Map();

function storedStranded() {
  try {
    return JSON.parse(sessionStorage.getItem(STRANDED) || '{}') || {};
  } catch {
    return {};
  }
}

function strandedList(appID) {
  if (!stranded.has(appID)) stranded.set(appID, storedStranded()[appID] || []);
  return stranded.get(appID);
}

function setStranded(appID, list) {
  stranded.set(appID, list);
  try {
    const all = storedStranded();
    if (list.length) all[appID] = list;
    else delete all[appID];
    sessionStorage.setItem(STRANDED, JSON.stringify(all));
  } catch {
    // Kept in memory only.
  }
}

/**
 * strandedOn lists the people a reset left without their designation on the
 * application; one designated again since (by anyone) is forgotten.
 */
function strandedOn(appID, designations) {
  const have = new Set(designations.map((d) => d.email));
  const all = strandedList(appID);
  const list = all.filter((p) => !have.has(p.email));
  if (list.length !== all.length) setStranded(appID, list);
  return list;
}

function forgetStranded(appID, email) {
  setStranded(appID, strandedList(appID).filter((p) => p.email !== email));
}

/** readd designates email with role again: the second half of a reset. */
function readd(appID, email, role) {
  return api.call('PUT', '/v1/admin/applications/' + enc(appID) + '/designations/' + enc(email), { role });
}

/**
 * strandedNotice says that a reset removed someone and could not add them
 * back, so that they have no access now, and offers to add them back.
 */
function strandedNotice(app, p, reload) {
  const again = h('button', { type: 'button', class: 'readd', text: 'Add ' + p.email + ' back as ' + article(p.role) });
  const why = h('p', { class: 'why', text: 'The portal answered: ' + p.message });
  again.addEventListener('click', async () => {
    let res;
    try {
      res = await busy(again, 'Adding back…', () => readd(app.id, p.email, p.role));
    } catch (err) {
      if (err.status === 401) return;
      mount(why, 'Still not added back. The portal answered: ' + err.message);
      return;
    }
    forgetStranded(app.id, p.email);
    toast(p.email + ' is ' + article(p.role) + ' on ' + app.name + ' again; their next sign-in binds the designation.');
    await reload(res && Array.isArray(res.warnings) ? res.warnings : undefined);
  });
  return h('div', { class: 'notice error stranded', role: 'alert', 'data-email': p.email },
    h('p', {}, h('strong', { text: p.email + ' was removed from ' + app.name + ' but could not be added back. ' }),
      'They have no access to it until they are designated again.'),
    why, again);
}

/** sameBinding tells whether two bindings are one: same identity, bound at the same time. */
function sameBinding(a, b) {
  return !!a && !!b && a.issuer === b.issuer && a.subject === b.subject && a.boundAt === b.boundAt;
}

/**
 * resetBinding asks, then removes the designation and adds it again with
 * the same role, so that the next sign-in with its email binds it. If the
 * removal worked and the re-adding failed, the person is left without
 * access: the page says so, with a button to add them back, until they are
 * designated again. A removal whose outcome is unknown (no answer) is
 * followed by the re-adding all the same, which is harmless either way.
 */
async function resetBinding(btn, app, d, reload) {
  const ok = await openDialog('Reset the binding of ' + d.email + '?', (close) => h('div', {},
    h('p', {}, 'This designation belongs to ', h('code', { class: 'subject', text: d.binding.subject }), ' at ', h('code', { text: d.binding.issuer }),
      '. Resetting removes ' + d.email + ' from ' + app.name + ' and designates them again as ' + article(d.role) +
      ': the next sign-in with this email, from whichever account, is bound to it.'),
    h('p', { text: 'Do this when the person\'s account has changed, for example a new account at the identity provider. Both steps are recorded in the audit log.' }),
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'secondary', autofocus: true, text: 'Cancel', onclick: () => close(false) }),
      h('button', { type: 'button', class: 'danger', id: 'confirm-reset', text: 'Reset binding', onclick: () => close(true) }))));
  if (!ok) return;
  const path = '/v1/admin/applications/' + enc(app.id) + '/designations/' + enc(d.email);
  const out = await busy(btn, 'Resetting…', async () => {
    let unknown = null;
    try {
      await api.call('DELETE', path);
    } catch (err) {
      if (err.status !== 0) return { failed: 'remove', err };
      unknown = err;
    }
    try {
      return { res: await readd(app.id, d.email, d.role), unknown };
    } catch (err) {
      return { failed: 'add', err };
    }
  });
  if (out.failed === 'add') {
    const list = strandedList(app.id).filter((p) => p.email !== d.email);
    list.push({ email: d.email, role: d.role, message: out.err.message });
    setStranded(app.id, list);
    if (out.err.status !== 401) await reload();
    return;
  }
  const now = out.res ? (out.res.designations || []).find((x) => x.email === d.email) : null;
  if (out.failed === 'remove' || (now && sameBinding(now.binding, d.binding))) {
    const err = out.err || out.unknown;
    if (err && err.status === 401) return;
    await openDialog('The binding was not reset', (close) => h('div', {}, err ? errorBox(err) : null,
      h('p', { text: out.failed ? 'Nothing was changed.' : 'The designation was not removed, so ' + d.email + ' keeps their access and their binding.' }),
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', autofocus: true, text: 'Close', onclick: () => close() }))));
    await reload();
    return;
  }
  toast('The binding of ' + d.email + ' is reset: their next sign-in binds it again.');
  await reload(Array.isArray(out.res.warnings) ? out.res.warnings : undefined);
}
