// The "Federated credentials" section of an application's page: the
// external identities (a GitHub Actions workflow, say) whose tokens
// authenticate the application instead of a secret.
import { h, mount, timeEl, ago, emailText, errorBox, openDialog, toast, field, fieldError, busy } from './dom.js';
import * as api from './api.js';

const enc = encodeURIComponent;

/** The example subject shown for GitHub Actions' issuer. */
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
export const GITHUB_SUBJECT_EXAMPLE = 'repo:OWNER/REPO:ref:refs/heads/main';

/** federatedSection lists the credentials; managers get a form and deletes. */
export function federatedSection(ctx, app, creds, manage, reload) {
  const section = h('section', { class: 'federated', 'aria-labelledby': 'federated-title' },
    h('h2', { id: 'federated-title', text: 'Federated credentials' }),
    h('p', { class: 'hint', text: 'A federated credential lets a workload authenticate with the token its platform already gives it, such as a GitHub Actions job, instead of a client secret. Nothing to rotate, nothing that expires.' }));
  if (creds.length === 0) {
    section.appendChild(h('p', { class: 'empty', id: 'federated-empty', text: 'No federated credentials.' }));
  } else {
    section.appendChild(h('div', { class: 'table-wrap' },
      h('table', { class: 'federated', id: 'federated' },
        h('thead', {}, h('tr', {},
          ['Name', 'Issuer', 'Subject', 'Audience', 'Created', 'Last used'].map((c) => h('th', { scope: 'col', text: c })),
          manage ? h('th', { scope: 'col' }, h('span', { class: 'sr-only', text: 'Actions' })) : null)),
        h('tbody', {}, creds.map((c) => h('tr', { 'data-credential': c.id },
          h('td', { 'data-label': 'Name', class: 'name', text: c.name }),
          h('td', { 'data-label': 'Issuer' }, h('code', { text: c.issuer })),
          h('td', { 'data-label': 'Subject' }, h('code', { class: 'subject', text: c.subject })),
          h('td', { 'data-label': 'Audience' }, h('code', { text: c.audience })),
          h('td', { 'data-label': 'Created' }, timeEl(c.createdAt), h('br'), h('span', { class: 'muted' }, 'by ', emailText(c.createdBy))),
          h('td', { 'data-label': 'Last used', class: 'last-used' }, c.lastUsedAt ? [timeEl(c.lastUsedAt), h('br'), h('span', { class: 'muted', text: ago(c.lastUsedAt) })] : 'never'),
          manage ? h('td', { 'data-label': '' },
            h('button', { type: 'button', class: 'quiet small delete', 'aria-label': 'Delete federated credential ' + c.name, text: 'Delete', onclick: (e) => deleteCredential(e.currentTarget, app, c, reload) })) : null))))));
  }
  if (manage) section.appendChild(createForm(ctx, app, reload));
  return section;
}

function createForm(ctx, app, reload) {
  const issuers = ctx.cfg.trustedIssuers || [];
  const issuer = h('select', { id: 'federated-issuer', required: true },
    issuers.map((i) => h('option', { value: i, text: i === GITHUB_ISSUER ? 'GitHub Actions (' + i + ')' : i })));
  const subject = h('input', { type: 'text', id: 'federated-subject', required: true, maxlength: '255', autocomplete: 'off', spellcheck: 'false' });
  const name = h('input', { type: 'text', id: 'federated-name', required: true, maxlength: '100', autocomplete: 'off' });
  const audience = h('input', { type: 'text', id: 'federated-audience', maxlength: '255', autocomplete: 'off', spellcheck: 'false' });
  const errorEl = h('div', { id: 'federated-error' });
  const submit = h('button', { type: 'submit', id: 'create-federated', text: 'Add federated credential' });
  const subjectHint = () => issuer.value === GITHUB_ISSUER
    ? 'Matched exactly. GitHub Actions: ' + GITHUB_SUBJECT_EXAMPLE + ' (or :environment:NAME, :pull_request).'
    : 'The token\'s sub claim, matched exactly.';
  const subjectField = field('Subject', subject, subjectHint());
  issuer.addEventListener('change', () => { subjectField.querySelector('.hint').textContent = subjectHint(); });
  const form = h('form', { class: 'card federated-form', id: 'federated-form', novalidate: true },
    h('h3', { text: 'Add a federated credential' }),
    field('Name', name, 'For people: which workflow or workload this is.'),
    field('Issuer', issuer, 'The identity provider the workload gets its token from; only issuers the operator trusts are offered.'),
    subjectField,
    field('Audience (optional)', audience, 'The aud the token must name. Leave empty for the portal\'s own identifier.'),
    errorEl, h('div', { class: 'form-actions' }, submit));
  if (issuers.length === 0) {
    submit.disabled = true;
    errorEl.appendChild(h('p', { class: 'hint', text: 'The operator trusts no issuer, so no federated credential can be added.' }));
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    mount(errorEl);
    if (!name.value.trim()) { fieldError(name, 'Give the credential a name.').focus(); return; }
    if (!subject.value.trim()) { fieldError(subject, 'Give the subject, e.g. ' + GITHUB_SUBJECT_EXAMPLE + '.').focus(); return; }
    const body = { name: name.value.trim(), issuer: issuer.value, subject: subject.value.trim() };
    if (audience.value.trim()) body.audience = audience.value.trim();
    try {
      await busy(submit, 'Adding…', () => api.call('POST', '/v1/applications/' + enc(app.id) + '/federated-credentials', body));
    } catch (err) {
      if (err.status === 401) return;
      const target = { invalid_name: name, invalid_subject: subject, invalid_audience: audience, untrusted_issuer: issuer }[err.code];
      if (target) { fieldError(target, err.message).focus(); return; }
      mount(errorEl, errorBox(err, 'The federated credential was not added.'));
      return;
    }
    toast('Federated credential "' + body.name + '" added to ' + app.name + '.');
    await reload();
  });
  return form;
}

async function deleteCredential(btn, app, c, reload) {
  const ok = await openDialog('Delete this federated credential?', (close) => h('div', {},
    h('p', {}, 'Federated credential ', h('strong', { text: c.name }), ' of ', h('strong', { text: app.name }), ': tokens of ',
      h('code', { text: c.issuer }), ' for ', h('code', { text: c.subject }), '.'),
    h('p', { text: 'Deleting takes effect at once: the next token request with such a token fails. This cannot be undone.' }),
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'secondary', id: 'cancel-delete', text: 'Cancel', autofocus: true, onclick: () => close(false) }),
      h('button', { type: 'button', class: 'danger', id: 'confirm-delete', text: 'Delete federated credential', onclick: () => close(true) }))));
  if (!ok) return;
  try {
    await busy(btn, 'Deleting…', () => api.call('DELETE', '/v1/applications/' + enc(app.id) + '/federated-credentials/' + enc(c.id)));
  } catch (err) {
    await openDialog('The federated credential was not deleted', (close) => h('div', {},
      errorBox(err),
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', text: 'Close', autofocus: true, onclick: () => close() }))));
    return;
  }
  toast('Federated credential "' + c.name + '" deleted from ' + app.name + '.');
  await reload();
}
