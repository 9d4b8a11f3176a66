// The "Keys and certificates" section of an application's page: the public
// keys whose private halves sign the application's client assertions
// (private_key_jwt). The portal only ever holds the public half.
import {
  h, mount, timeEl, ago, plural, expiryBadge, emailText, errorBox, toast, field, fieldError, busy, confirmedDelete, deleteDialog,
} from './dom.js';
import * as api from './api.js';

const enc = encodeURIComponent;
const TYPES = { certificate: 'Certificate', public_key: 'Public key' };

/** keysSection lists the keys; managers get a form and deletes. */
export function keysSection(ctx, app, keys, manage, reload) {
  const section = h('section', { class: 'keys', 'aria-labelledby': 'keys-title' },
    h('h2', { id: 'keys-title', text: 'Keys and certificates' }),
    h('p', { class: 'hint', text: 'A registered public key lets a workload authenticate by signing a short-lived assertion with its private key, which never leaves it. The portal never sees or stores a private key.' }));
  if (keys.length === 0) {
    section.appendChild(h('p', { class: 'empty', id: 'keys-empty', text: 'No keys or certificates.' }));
  } else {
    section.appendChild(h('div', { class: 'table-wrap' },
      h('table', { class: 'keys', id: 'keys' },
        h('thead', {}, h('tr', {},
          ['Name', 'Type', 'Thumbprint (SHA-256)', 'Algorithms', 'Expires', 'Last used'].map((c) => h('th', { scope: 'col', text: c })),
          manage ? h('th', { scope: 'col' }, h('span', { class: 'sr-only', text: 'Actions' })) : null)),
        h('tbody', {}, keys.map((k) => h('tr', { 'data-key': k.id },
          h('td', { 'data-label': 'Name', class: 'name' }, h('span', { text: k.name }), h('br'), h('span', { class: 'muted' }, 'by ', emailText(k.createdBy), ', ', timeEl(k.createdAt))),
          h('td', { 'data-label': 'Type', class: 'type', 'data-type': k.type, text: TYPES[k.type] || k.type }),
          h('td', { 'data-label': 'Thumbprint' }, h('code', { class: 'thumbprint', text: k.thumbprint })),
          h('td', { 'data-label': 'Algorithms', class: 'algorithms', text: (k.algorithms || []).join(', ') }),
          h('td', { 'data-label': 'Expires', class: 'expires' }, timeEl(k.expiresAt), ' ', expiryBadge(k.expiresAt, ctx.cfg.reminderThresholds)),
          h('td', { 'data-label': 'Last used', class: 'last-used' }, k.lastUsedAt ? [timeEl(k.lastUsedAt), h('br'), h('span', { class: 'muted', text: ago(k.lastUsedAt) })] : 'never'),
          manage ? h('td', { 'data-label': '' },
            h('button', { type: 'button', class: 'quiet small delete', 'aria-label': 'Delete key ' + k.name, text: 'Delete', onclick: (e) => deleteKey(e.currentTarget, app, k, reload) })) : null))))));
  }
  if (manage) section.appendChild(createForm(ctx, app, reload));
  return section;
}

/** publicKeyValue is what the API takes: a JWK as an object, PEM as text. */
export function publicKeyValue(text) {
  const t = text.trim();
  if (t.startsWith('{')) {
    try { return JSON.parse(t); } catch { return t; }
  }
  return t;
}

function createForm(ctx, app, reload) {
  const max = ctx.cfg.maxLifetimeDays || 365;
  const name = h('input', { type: 'text', id: 'key-name', required: true, maxlength: '100', autocomplete: 'off' });
  const key = h('textarea', { id: 'key-public', required: true, rows: '6', autocomplete: 'off', spellcheck: 'false', placeholder: '-----BEGIN PUBLIC KEY-----' });
  const presets = [30, 90, 180, 365].filter((d) => d <= max);
  if (!presets.includes(max) && max < 365) presets.push(max);
  const lifetime = h('select', { id: 'key-lifetime' },
    presets.map((d) => h('option', { value: String(d), text: plural(d, 'day'), selected: d === Math.min(90, max) })));
  const errorEl = h('div', { id: 'key-error' });
  const submit = h('button', { type: 'submit', id: 'create-key', text: 'Add key' });
  const form = h('form', { class: 'card key-form', id: 'key-form', novalidate: true },
    h('h3', { text: 'Add a key or certificate' }),
    field('Name', name, 'For people: which workload holds the private key.'),
    field('Public key or certificate', key, 'Paste a PEM certificate, a PEM public key (BEGIN PUBLIC KEY) or a public JWK. EC P-256/P-384, RSA of 2048 bits or more, or Ed25519. Never paste a private key.'),
    field('Lifetime of a bare key', lifetime, 'A certificate\'s own expiry is used by default; a bare public key or JWK expires after this.'),
    errorEl, h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    mount(errorEl);
    if (!name.value.trim()) { fieldError(name, 'Give the key a name.').focus(); return; }
    if (!key.value.trim()) { fieldError(key, 'Paste the public key or certificate.').focus(); return; }
    const body = { name: name.value.trim(), publicKey: publicKeyValue(key.value) };
    if (!/-----BEGIN CERTIFICATE-----/.test(key.value)) body.lifetimeDays = Number(lifetime.value);
    try {
      await busy(submit, 'Adding…', () => api.call('POST', '/v1/applications/' + enc(app.id) + '/keys', body));
    } catch (err) {
      if (err.status === 401) return;
      const target = {
        invalid_name: name, private_key_refused: key, invalid_public_key: key, unsupported_key: key, invalid_lifetime: lifetime,
      }[err.code];
      if (target) { fieldError(target, err.message).focus(); return; }
      mount(errorEl, errorBox(err, 'The key was not added.'));
      return;
    }
    toast('Key "' + body.name + '" added to ' + app.name + '.');
    await reload();
  });
  return form;
}

/** deleteKey confirms (more strongly for a key in use) and deletes. */
async function deleteKey(btn, app, k, reload) {
  const deleted = await confirmedDelete(btn, 'key', k.lastUsedAt, (strong) => deleteDialog(
    strong ? 'This key is in use' : 'Delete this key?', strong ? 'Delete anyway' : 'Delete key',
    [
      h('p', {}, 'Key ', h('strong', { text: k.name }), ' of ', h('strong', { text: app.name }), ', thumbprint ', h('code', { class: 'thumbprint', text: k.thumbprint }), '.'),
      h('p', { text: 'Deleting takes effect at once: the next assertion signed with this key fails. This cannot be undone.' }),
    ],
    strong && {
      lastUsedAt: k.lastUsedAt,
      warning: 'Something is still signing with this key. Make sure every workload has moved to a newer key, or it stops working now.',
      ack: 'I understand that workloads still using this key stop working',
    }), (strong) => api.call('DELETE', '/v1/applications/' + enc(app.id) + '/keys/' + enc(k.id) + (strong ? '?confirm=true' : '')));
  if (!deleted) return;
  toast('Key "' + k.name + '" deleted from ' + app.name + '.');
  await reload();
}
