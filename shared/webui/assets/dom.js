// DOM helpers. Everything the API returns reaches the page as text nodes or
// attribute values, never as markup.

/**
 * h builds an element. attrs: "class", "text", on<Event> handlers, boolean
 * attributes (true sets, false/null omits) and plain attributes.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** mount replaces el's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const DAY = 86400000;

/** days from now until iso, rounded to the nearest whole day. */
export function daysUntil(iso, now = Date.now()) {
  return Math.round((Date.parse(iso) - now) / DAY);
}

/** fmtTime shows an RFC 3339 time in the user's locale. */
export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function fmtDate(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

/** ago describes how long ago iso was, in words. */
export function ago(iso, now = Date.now()) {
  const ms = now - Date.parse(iso);
  if (ms < 60000) return 'just now';
  const min = Math.round(ms / 60000);
  if (min < 60) return plural(min, 'minute') + ' ago';
  const hr = Math.round(ms / 3600000);
  if (hr < 48) return plural(hr, 'hour') + ' ago';
  return plural(Math.round(ms / DAY), 'day') + ' ago';
}

export function plural(n, word) {
  return n + ' ' + word + (n === 1 ? '' : 's');
}

/**
 * expiryBadge describes an expiry: an alert once expired, a warning under 30
 * days, a quiet note otherwise.
 */
export function expiryBadge(iso, now = Date.now()) {
  const ms = Date.parse(iso) - now;
  if (ms <= 0) {
    const d = Math.round(-ms / DAY);
    return h('span', { class: 'badge alert', text: d === 0 ? 'expired today' : 'expired ' + plural(d, 'day') + ' ago' });
  }
  const d = Math.round(ms / DAY);
  const text = d === 0 ? 'expires today' : plural(d, 'day') + ' left';
  return h('span', { class: d < 30 ? 'badge warn' : 'badge', text });
}

/** roleLabel names a role for people. */
export function roleLabel(role) {
  return { credential_manager: 'Credential manager', viewer: 'Viewer', admin: 'Admin' }[role] || role;
}

/**
 * copyButton copies getText() to the clipboard and says whether it worked,
 * in its own label and to screen readers.
 */
export function copyButton(getText, label = 'Copy') {
  const btn = h('button', { type: 'button', class: 'secondary small copy', 'aria-label': label, text: 'Copy' });
  let timer = 0;
  btn.addEventListener('click', async () => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(getText());
      ok = true;
    } catch {
      ok = false;
    }
    btn.textContent = ok ? 'Copied' : 'Copy failed: select the text and copy it';
    btn.classList.toggle('done', ok);
    clearTimeout(timer);
    timer = setTimeout(() => { btn.textContent = 'Copy'; btn.classList.remove('done'); }, 4000);
  });
  return btn;
}

/** errorBox shows an API or other error as a readable message. */
export function errorBox(err, prefix) {
  const msg = err && err.message ? err.message : String(err);
  return h('div', { class: 'notice error', role: 'alert' },
    prefix ? h('strong', { text: prefix + ' ' }) : null, msg);
}

export function loading(text) {
  return h('p', { class: 'loading', role: 'status', text });
}

/**
 * openDialog shows a modal <dialog>: build(close) returns its content and
 * close(value) ends it. Focus moves into the dialog and returns to where it
 * was afterwards; Escape closes it with undefined.
 */
export function openDialog(labelText, build) {
  return new Promise((resolve) => {
    const before = document.activeElement;
    const titleId = 'dlg-' + Math.random().toString(36).slice(2);
    const dlg = h('dialog', { 'aria-labelledby': titleId, class: 'dialog' });
    let result;
    const close = (v) => { result = v; dlg.close(); };
    mount(dlg, h('h2', { id: titleId, text: labelText }), build(close));
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (before && typeof before.focus === 'function' && before.isConnected) before.focus();
      resolve(result);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    const first = dlg.querySelector('[autofocus]') || dlg.querySelector('input, button, select, textarea');
    if (first) first.focus();
  });
}

let toastTimer = 0;
/** toast announces a short message. */
export function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = text;
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.classList.remove('show'); el.textContent = ''; }, 5000);
}

/** field is a labelled form control. */
export function field(labelText, control, hint) {
  const id = control.id || ('f-' + Math.random().toString(36).slice(2));
  control.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = h('p', { class: 'hint', id: id + '-hint', text: hint });
    control.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { class: 'field' }, h('label', { for: id, text: labelText }), control, hintEl);
}

/** busy disables a button while fn runs. */
export async function busy(btn, text, fn) {
  const old = btn.textContent;
  btn.disabled = true;
  btn.textContent = text;
  try {
    return await fn();
  } finally {
    btn.disabled = false;
    btn.textContent = old;
  }
}
