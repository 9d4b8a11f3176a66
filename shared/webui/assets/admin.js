// Admin pages: organisations, their applications, API permissions and
// designations. Every change shows the warnings the admin API answers with.

import * as api from './api.js';
import { h, mount, fmtDate, roleLabel, errorBox, loading, openDialog, toast, field, fieldError, busy, emailText } from './dom.js';

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
      h('td', { 'data-label': 'Email' }, emailText(d.email)),
      h('td', { 'data-label': 'Role' }, h('div', { class: 'role-cell' }, sel, change)),
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
      rows.length === 0 ? h('p', { class: 'empty', text: 'Nobody is designated yet. Designate a credential manager below.' })
        : h('div', { class: 'table-wrap' }, h('table', { id: 'admin-designations' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Email' }), h('th', { scope: 'col', text: 'Role' }),
            h('th', { scope: 'col' }, h('span', { class: 'sr-only', text: 'Actions' })))),
          h('tbody', {}, rows))),
      h('h3', { text: 'Designate someone' }),
      addForm));
}
