// An application's audit log, each event told as a sentence, with a filter
// by kind.

import * as api from './api.js';
import { h, mount, timeEl, fmtTime, roleLabel, errorBox, loading, busy, field } from './dom.js';

/** KINDS are the filter's choices: a label and the action prefix it keeps. */
const KINDS = [
  ['', 'All events'],
  ['secret.', 'Secrets created and deleted'],
  ['designation.', 'People designated and removed'],
  ['application.', 'Application created and changed'],
  ['token.', 'Failed token requests'],
];

function role(r) {
  return r ? roleLabel(r).toLowerCase() : '';
}

/** duration reads a Go duration ("5m0s", "1h0m0s") in words. */
function duration(d) {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(d || '');
  if (!m || !d) return d || '';
  const parts = [];
  const unit = (n, word) => { if (Number(n)) parts.push(n + ' ' + word + (Number(n) === 1 ? '' : 's')); };
  unit(m[1], 'hour');
  unit(m[2], 'minute');
  unit(m[3], 'second');
  return parts.join(' ') || '0 seconds';
}

function apiList(ids, names) {
  const list = (ids || '').split(',').filter(Boolean).map((id) => names.get(id) || id);
  return list.length ? list.join(', ') : 'no APIs';
}

/** secretRef names the secret of an event: its name when recorded (newer events), its hint always. */
function secretRef(ev, article) {
  const hint = ev.hint ? ' (hint ' + ev.hint + '…)' : '';
  return ev.secretName ? 'secret "' + ev.secretName + '"' + hint : article + ' secret' + hint;
}

/**
 * sentence tells one audit event in words, e.g. alice@acme.example created
 * secret "CI deploy" (hint AbC…) from 203.0.113.7.
 */
export function sentence(ev, names = new Map()) {
  const d = ev.details || {};
  const from = ev.sourceIp ? ' from ' + ev.sourceIp : '';
  const who = ev.actor || 'someone';
  switch (ev.action) {
    case 'secret.created':
      return who + ' created ' + secretRef(ev, 'a') + from + '.';
    case 'secret.deleted':
      return who + ' deleted ' + secretRef(ev, 'a') + from + '.';
    case 'secret.leaked':
      return who + ' reported ' + secretRef(ev, 'a') + ' as leaked' + (d.url ? ' at ' + d.url : '') +
        (d.action === 'notify' ? '; it stays usable until someone deletes it' : '') + '.';
    case 'designation.set':
      if (!d.roleBefore) return who + ' designated ' + d.email + ' as ' + role(d.roleAfter) + from + '.';
      return who + ' made ' + d.email + ' a ' + role(d.roleAfter) + ' (was ' + role(d.roleBefore) + ')' + from + '.';
    case 'designation.removed':
      return who + ' removed ' + d.email + (d.roleBefore ? ', ' + role(d.roleBefore) + ',' : '') + ' from the application' + from + '.';
    case 'application.created':
      return who + ' created the application' + (d.name ? ' "' + d.name + '"' : '') + ' with ' + apiList(d.apis, names) +
        (d.clientId ? ' and client ID ' + d.clientId : '') + from + '.';
    case 'application.updated': {
      const changes = [];
      if ('nameAfter' in d) changes.push('renamed the application from "' + d.nameBefore + '" to "' + d.nameAfter + '"');
      if ('apisAfter' in d) changes.push('changed its APIs from ' + apiList(d.apisBefore, names) + ' to ' + apiList(d.apisAfter, names));
      return who + ' ' + (changes.join(' and ') || 'changed the application') + from + '.';
    }
    case 'token.failures': {
      let s = (d.failures || 'Repeated') + ' failed token requests for client ' + who;
      if (d.window) s += ' within ' + duration(d.window);
      s += from;
      if (d.lockedUntil) s += '; its failed requests are refused until ' + fmtTime(d.lockedUntil);
      return s + '.';
    }
    default: {
      const extra = Object.entries(d).filter(([, v]) => v !== '' && v != null).map(([k, v]) => k + ' ' + v).join(', ');
      return who + ': ' + ev.action + (extra ? ' (' + extra + ')' : '') + from + '.';
    }
  }
}

/** auditSection fills section with app's audit log, newest first. */
export async function auditSection(section, app) {
  const names = new Map((app.apis || []).map((a) => [a.id, a.name]));
  const list = h('ol', { class: 'events', id: 'audit' });
  const status = h('div', {});
  const filtered = h('p', { class: 'empty', id: 'audit-none', hidden: true });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, text: 'Show older events' });
  const kind = h('select', { id: 'audit-kind' }, KINDS.map(([v, label]) => h('option', { value: v, text: label })));
  const apply = () => {
    let shown = 0;
    for (const li of list.children) {
      li.hidden = !li.dataset.action.startsWith(kind.value);
      if (!li.hidden) shown++;
    }
    list.hidden = shown === 0;
    filtered.textContent = 'No events of this kind' + (more.hidden ? '.' : ' among those loaded; show older events to look further.');
    filtered.hidden = shown > 0 || list.children.length === 0;
  };
  kind.addEventListener('change', apply);
  mount(section, h('h2', { id: 'audit-title', text: 'Audit log' }),
    h('div', { class: 'audit-tools' }, field('Show', kind)),
    status, list, filtered, more);
  let cursor = '';
  const load = async () => {
    mount(status, loading('Loading the audit log…'));
    let page;
    try {
      page = await api.get(api.withCursor('/v1/applications/' + api.enc(app.id) + '/audit', cursor));
    } catch (err) {
      mount(status, errorBox(err, 'The audit log could not be loaded.'));
      return;
    }
    mount(status);
    const items = api.itemsOf(page);
    if (!cursor && items.length === 0) mount(status, h('p', { class: 'empty', text: 'Nothing has happened to this application yet.' }));
    for (const ev of items) {
      list.appendChild(h('li', { 'data-action': ev.action },
        timeEl(ev.at),
        h('span', { class: 'sentence', text: sentence(ev, names) })));
    }
    cursor = page.nextCursor || '';
    more.hidden = !cursor;
    apply();
  };
  more.addEventListener('click', () => busy(more, 'Loading…', load));
  await load();
}
