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

/** The sweep's thresholds when the configuration names none. */
export const DEFAULT_THRESHOLDS = [30, 14, 7, 3, 1, 0];

/**
 * daysLeft counts whole UTC calendar days from now's date to the date of
 * iso, as the reminder emails do: 0 on the expiry day, -1 the day after.
 */
export function daysLeft(iso, now = Date.now()) {
  const day = (t) => {
    const d = new Date(t);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  };
  return Math.round((day(Date.parse(iso)) - day(now)) / DAY);
}

/**
 * urgency places an expiry against the reminder thresholds (any order):
 * "neutral" above the largest, "amber" within it, "red" from the largest
 * threshold of 7 days or fewer, and once expired. days are UTC calendar
 * days, so the page and the emails agree.
 */
export function urgency(iso, thresholds, now = Date.now()) {
  const ts = (thresholds && thresholds.length ? thresholds : DEFAULT_THRESHOLDS).slice().sort((a, b) => b - a);
  const days = daysLeft(iso, now);
  const expired = Date.parse(iso) <= now;
  const red = ts.filter((t) => t <= 7)[0];
  let level = 'neutral';
  if (expired || (red !== undefined && days <= red)) level = 'red';
  else if (days <= ts[0]) level = 'amber';
  return { level, days, expired };
}

/** inDays says when an expiry falls, in words: "today", "tomorrow", "in 3 days". */
export function inDays(days) {
  if (days === 0) return 'today';
  if (days === 1) return 'tomorrow';
  return 'in ' + plural(days, 'day');
}

const TIME_FORMAT = { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' };

/** fmtTime shows an RFC 3339 time in the user's locale and zone, naming the zone. */
export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, TIME_FORMAT);
}

/** timeEl is a <time> showing fmtTime, with the exact instant in its datetime. */
export function timeEl(iso) {
  return h('time', { datetime: iso, text: fmtTime(iso) });
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

const LEVEL_CLASS = { neutral: 'badge', amber: 'badge warn', red: 'badge alert' };

/** badgeClass is the badge style of an urgency level. */
export function badgeClass(level) {
  return LEVEL_CLASS[level] || 'badge';
}

/**
 * expiryBadge describes one expiry, coloured by the reminder thresholds:
 * "3 days left", "expires today", "expired 2 days ago".
 */
export function expiryBadge(iso, thresholds, now = Date.now()) {
  const u = urgency(iso, thresholds, now);
  let text;
  if (u.expired) text = u.days >= 0 ? 'expired today' : 'expired ' + plural(-u.days, 'day') + ' ago';
  else if (u.days === 0) text = 'expires today';
  else if (u.days === 1) text = 'expires tomorrow';
  else text = plural(u.days, 'day') + ' left';
  return h('span', { class: badgeClass(u.level), 'data-urgency': u.level, text });
}

/** emailText shows an address that may break after its @, never mid-word. */
export function emailText(email) {
  const at = email.lastIndexOf('@');
  if (at < 0) return h('span', { class: 'email-text', text: email });
  return h('span', { class: 'email-text' }, email.slice(0, at), h('wbr'), email.slice(at));
}

/** roleLabel names a role for people. */
export function roleLabel(role) {
  return { credential_manager: 'Credential manager', viewer: 'Viewer', admin: 'Admin' }[role] || role;
}

/**
 * copyButton copies getText() to the clipboard and says whether it worked.
 * Its visible word ("Copy", then "Copied" or why not) starts its accessible
 * name, which goes on to say what it copies: "Copy secret value".
 */
export function copyButton(getText, what) {
  const state = h('span', { class: 'copy-state', text: 'Copy' });
  const btn = h('button', { type: 'button', class: 'secondary small copy', 'data-copy': what },
    state, h('span', { class: 'sr-only', text: ' ' + what }));
  let timer = 0;
  btn.addEventListener('click', async () => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(getText());
      ok = true;
    } catch {
      ok = false;
    }
    state.textContent = ok ? 'Copied' : 'Copy failed: select the text and copy it';
    btn.classList.toggle('done', ok);
    clearTimeout(timer);
    timer = setTimeout(() => { state.textContent = 'Copy'; btn.classList.remove('done'); }, 4000);
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

/** field is a labelled form control, with an optional hint under it. */
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

/**
 * fieldError shows message under a control (an input, a select, or a
 * fieldset of checkboxes): the control is marked aria-invalid and described
 * by the message, which goes when the user changes the control. It returns
 * the control, to focus.
 */
export function fieldError(control, message) {
  clearFieldError(control);
  const id = (control.id || ('f-' + Math.random().toString(36).slice(2))) + '-error';
  if (!control.id) control.id = id.slice(0, -6);
  const msg = h('p', { class: 'field-error', id, text: message });
  const targets = control.tagName === 'FIELDSET' ? [...control.querySelectorAll('input')] : [control];
  for (const t of targets) t.setAttribute('aria-invalid', 'true');
  const described = (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
  control.setAttribute('aria-describedby', [...described, id].join(' '));
  const anchor = control.tagName === 'FIELDSET' ? control.lastElementChild : (control.parentElement && control.parentElement.classList.contains('field') ? control.parentElement.lastElementChild : control);
  anchor.after(msg);
  const clear = () => {
    clearFieldError(control);
    control.removeEventListener('input', clear);
    control.removeEventListener('change', clear);
  };
  control.addEventListener('input', clear);
  control.addEventListener('change', clear);
  return control.tagName === 'FIELDSET' ? (targets[0] || control) : control;
}

/** clearFieldError removes what fieldError added. */
export function clearFieldError(control) {
  const id = (control.id || '') + '-error';
  const msg = control.id ? document.getElementById(id) : null;
  if (msg) msg.remove();
  const targets = control.tagName === 'FIELDSET' ? [...control.querySelectorAll('input')] : [control];
  for (const t of targets) t.removeAttribute('aria-invalid');
  const described = (control.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== id);
  if (described.length) control.setAttribute('aria-describedby', described.join(' '));
  else control.removeAttribute('aria-describedby');
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

const RECENT = 24 * 3600 * 1000;

/** recentlyUsed says whether lastUsedAt falls in the last 24 hours. */
export function recentlyUsed(lastUsedAt, now = Date.now()) {
  return !!lastUsedAt && now - Date.parse(lastUsedAt) < RECENT;
}

/**
 * confirmedDelete asks confirm(strong) and then runs del(strong) on btn.
 * Something used in the last 24 hours needs the stronger confirmation, and
 * del is told so (it then sends confirm=true); a 409 recently_used (used
 * meanwhile) asks for it too. It resolves true once deleted; a failure is
 * shown in a dialog titled "The <what> was not deleted".
 */
export async function confirmedDelete(btn, what, lastUsedAt, confirm, del) {
  let strong = recentlyUsed(lastUsedAt);
  for (;;) {
    if (!await confirm(strong)) return false;
    try {
      await busy(btn, 'Deleting…', () => del(strong));
    } catch (err) {
      if (err.status === 409 && err.code === 'recently_used' && !strong) {
        strong = true;
        continue;
      }
      await openDialog('The ' + what + ' was not deleted', (close) => h('div', {},
        errorBox(err),
        h('div', { class: 'dialog-actions' }, h('button', { type: 'button', text: 'Close', autofocus: true, onclick: () => close() }))));
      return false;
    }
    return true;
  }
}

/**
 * deleteDialog asks whether to delete: body, then for something in use
 * (inUse: { lastUsedAt, warning, ack }) an alert and a checkbox that must be
 * ticked before the red confirm button works. Resolves true to delete.
 */
export function deleteDialog(title, confirmText, body, inUse) {
  return openDialog(title, (close) => {
    const confirmBtn = h('button', { type: 'button', class: 'danger', id: 'confirm-delete', text: confirmText });
    confirmBtn.addEventListener('click', () => close(true));
    const parts = [body];
    if (inUse) {
      parts.push(h('div', { class: 'notice alert', role: 'alert' },
        h('strong', { text: 'Used ' + (inUse.lastUsedAt ? ago(inUse.lastUsedAt) : 'in the last 24 hours') + '. ' }),
        inUse.warning));
      const ack = h('input', { type: 'checkbox', id: 'ack-recent' });
      confirmBtn.disabled = true;
      ack.addEventListener('change', () => { confirmBtn.disabled = !ack.checked; });
      parts.push(h('div', { class: 'check' }, ack, h('label', { for: 'ack-recent', text: inUse.ack })));
    }
    return h('div', {}, parts,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'secondary', id: 'cancel-delete', text: 'Cancel', autofocus: true, onclick: () => close(false) }),
        confirmBtn));
  });
}
